/**
 * Reads the progress lines OllamaModel prints (providers/ollamaModel.ts), wherever they appear: the provider's
 * own output, or the output of `npm run up`, where the engine puts them behind its own prefix.
 */

/** Bytes of a size as OllamaModel prints it (`590.5 MB`, decimal units). */
export function bytesOf(size: string): number {
    const [number, unit] = size.split(" ");
    return Number(number) * 1000 ** ["B", "KB", "MB", "GB", "TB"].indexOf(unit);
}

/** Per layer of `model`, its size as printed and the percentages printed, in order. */
export function progressByLayer(output: string, model: string): Map<string, { bytes: number; percents: number[] }> {
    const layers = new Map<string, { bytes: number; percents: number[] }>();
    const prefix = `OllamaModel ${model}: pulling `;
    for (const line of output.split("\n")) {
        const at = line.indexOf(prefix);
        if (at < 0) continue;
        // `pulling 8eeb52dfb3bb: layer of 4.7 GB, 0% here`, then `pulling 8eeb52dfb3bb 40% (1.9 GB of 4.7 GB)`
        const match = /^([0-9a-f]+)(?:: layer of ([^,]+), | )(\d+)%/.exec(line.slice(at + prefix.length));
        if (!match) continue;
        const layer = layers.get(match[1]) ?? { bytes: 0, percents: [] };
        if (match[2]) layer.bytes = bytesOf(match[2]);
        layer.percents.push(Number(match[3]));
        layers.set(match[1], layer);
    }
    return layers;
}

/**
 * The widest step, in percent, between two progress lines of the model's largest layer (its weights: a layer
 * of a few bytes goes from 0 to 100 % in one step, and takes no time), counting from 0 % and to 100 %.
 */
export function widestProgressStep(output: string, model: string): number {
    const [weights] = [...progressByLayer(output, model).values()].sort((a, b) => b.bytes - a.bytes);
    const points = [0, ...(weights?.percents ?? []), 100];
    return Math.max(...points.slice(1).map((p, i) => p - points[i]));
}
