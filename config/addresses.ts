/**
 * IP addresses compared as addresses, not as strings: `0:0:0:0:0:0:0:0`, `::0` and `::` are the same wildcard,
 * `::ffff:127.0.0.1` is the IPv4 loopback, `0:0:0:0:0:0:0:1` is `::1`. Pure.
 */
import { isIP } from "node:net";

/**
 * The one spelling of an address: IPv4 dotted quad, IPv6 compressed and lower-case (as the WHATWG URL parser
 * writes it), an IPv4-mapped IPv6 address as its IPv4 address. Anything that is not an IP address is returned as is.
 */
export function canonicalAddress(address: string): string {
    const unbracketed = address.replace(/^\[(.*)\]$/, "$1");
    if (isIP(unbracketed) === 4) return unbracketed;
    if (isIP(unbracketed) !== 6 || unbracketed.includes("%")) return address;
    const compressed = new URL(`http://[${unbracketed}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
    if (!mapped) return compressed;
    const [high, low] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/**
 * The zone suffix of an IPv6 address (`%lo` of `::%lo`, `%eth0` of `fe80::1%eth0`), which names an interface;
 * undefined without one. Node's `isIP` accepts it; Docker publishes ports on an address alone.
 */
export function zoneOf(address: string): string | undefined {
    const unbracketed = address.replace(/^\[(.*)\]$/, "$1");
    const percent = unbracketed.indexOf("%");
    return isIP(unbracketed) === 6 && percent >= 0 ? unbracketed.slice(percent) : undefined;
}

/** The address without its zone suffix, if it has one. */
function withoutZone(address: string): string {
    const zone = zoneOf(address);
    return zone === undefined ? address : address.replace(zone, "");
}

/** The address binds every interface of the host (0.0.0.0 or ::, however spelt, a zone suffix ignored). */
export function isWildcardAddress(address: string): boolean {
    return ["0.0.0.0", "::"].includes(canonicalAddress(withoutZone(address)));
}

/** The address is this machine's own loopback (127.0.0.0/8 or ::1, however spelt, a zone suffix ignored). */
export function isLoopbackAddress(address: string): boolean {
    const canonical = canonicalAddress(withoutZone(address));
    return canonical === "::1" || (isIP(canonical) === 4 && canonical.startsWith("127."));
}

/** Two spellings of one address. */
export function sameAddress(a: string, b: string): boolean {
    return canonicalAddress(a) === canonicalAddress(b);
}
