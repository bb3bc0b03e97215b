/**
 * Names that must not collide: containers, data folders and model pulls, as model/plan.ts names them.
 */
import {
    PlannedContainer,
    folderRelation,
    modelPullName,
    normalFolder,
    ollamaContainers,
    serviceContainers,
} from "../model/plan";
import { Problem } from "./primitives";
import type { StackConfig } from "./stackKeys";

const OWN_NAME = "every container of the stack needs a name of its own";

/**
 * Names that must not collide, computed by the functions that name things (model/plan.ts):
 * - every container of the stack has a name of its own: its name in Docker and on its host's network, and the
 *   name of its resources in the stack's state, whichever host it runs on;
 * - no two containers on one Docker engine keep their data in one folder, or one inside the other's: deleting
 *   an instance's folder would delete another service's data;
 * - no two model pulls have one resource name (`<instance>-<model>`), which `pulumi up` refuses.
 * The key blamed is the name the config chose (an instance's, or the host's in a router's name), the later one
 * when both chose theirs. While a placement is wrong only the Ollama instances are checked.
 */
export function checkNames(config: StackConfig, problem: Problem, placementInvalid: boolean): void {
    const containers = [...ollamaContainers(config), ...(placementInvalid ? [] : serviceContainers(config))];
    const fix = (container: PlannedContainer) =>
        container.namedBy?.renames === "host" ? "rename the host" : "rename the instance";
    const blame = (a: PlannedContainer, b: PlannedContainer): [PlannedContainer, PlannedContainer] => {
        const [blamed, other] = b.namedBy || !a.namedBy ? [b, a] : [a, b];
        if (!blamed.namedBy) throw new Error(`two containers the stack names itself collide: ${a.what}, ${b.what}`);
        return [blamed, other];
    };

    const reported = new Set<PlannedContainer>();
    const byName = new Map<string, PlannedContainer>();
    for (const container of containers) {
        const earlier = byName.get(container.name);
        if (!earlier) {
            byName.set(container.name, container);
            continue;
        }
        const [blamed, other] = blame(earlier, container);
        const { path, value } = blamed.namedBy!;
        reported.add(blamed);
        problem(
            path,
            blamed.name === value
                ? `is already the name of ${other.what} (${OWN_NAME}: ${fix(blamed)})`
                : `gives ${blamed.what} the container name ${blamed.name}, already the name of ${other.what} (${OWN_NAME}: ${fix(blamed)})`,
            value,
        );
    }

    const folders = containers.flatMap((container) => container.dataDirs.map((folder) => ({ container, folder })));
    folders.forEach((later, i) => {
        for (const earlier of folders.slice(0, i)) {
            if (earlier.container.engine !== later.container.engine) continue;
            if (reported.has(earlier.container) || reported.has(later.container)) continue;
            if (!folderRelation(later.folder, earlier.folder)) continue;
            const sameHost = earlier.container.hostIndex === later.container.hostIndex;
            const [blamed, other] = sameHost
                ? blame(earlier.container, later.container)
                : [later.container, earlier.container];
            const [mine, theirs] = blamed === later.container ? [later, earlier] : [earlier, later];
            const where = {
                same: "",
                inside: `inside ${normalFolder(theirs.folder)}, `,
                holds: `which holds ${normalFolder(theirs.folder)}, `,
            }[folderRelation(mine.folder, theirs.folder)!];
            reported.add(blamed);
            problem(
                sameHost ? blamed.namedBy!.path : ["hosts", blamed.hostIndex, "dataDir"],
                `keeps the data of ${blamed.what} in ${normalFolder(mine.folder)}, ${where}the data folder of ${other.what}` +
                    `${sameHost ? "" : " on the same Docker engine"} (deleting one deletes the other's data: ` +
                    `${sameHost ? fix(blamed) : "give the host another dataDir"})`,
                sameHost ? blamed.namedBy!.value : config.hosts[blamed.hostIndex].dataDir,
            );
            return;
        }
    });

    // Two instances of one name are reported above, as containers.
    const pulls = new Map<string, { instance: string; model: string; instanceName: string }>();
    config.hosts.forEach((h, i) =>
        h.ollama.forEach((instance, j) => {
            const key = `hosts[${i}].ollama[${j}]`;
            for (const model of new Set(instance.models)) {
                const name = modelPullName(instance.name, model);
                const earlier = pulls.get(name);
                if (!earlier) pulls.set(name, { instance: key, model, instanceName: instance.name });
                else if (earlier.instanceName !== instance.name) {
                    problem(
                        ["hosts", i, "ollama", j, "name"],
                        `pulls ${JSON.stringify(model)} as the resource ${name}, already the name of the pull of ` +
                            `${JSON.stringify(earlier.model)} on the Ollama instance ${earlier.instance} ` +
                            "(every resource of the stack needs a name of its own: rename the instance)",
                        instance.name,
                    );
                    return;
                }
            }
        }),
    );
}
