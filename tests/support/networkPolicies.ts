/**
 * Who may talk to whom under a set of NetworkPolicies, computed as the NetworkPolicy API defines it (a CNI that
 * enforces them does the same): a connection needs the source's egress and the destination's ingress to allow
 * it, and a side that no policy of that type selects allows everything. Only what the stack's policies use is
 * read (matchLabels, namespaceSelector {}, ipBlock, ports); anything else throws, so nothing is misread.
 */
import type { NamedPolicy } from "../../targets/kubernetes/networkPolicies";

/** One end of a connection: a pod by its namespace and labels, or an address outside the cluster. */
export type Endpoint = { namespace: string; labels: Record<string, string> } | { outside: string };

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: unknown };
type Peer = { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: { cidr: string } };
type Rule = { ports?: { protocol?: string; port: number }[]; from?: Peer[]; to?: Peer[] };

function matches(selector: Selector, labels: Record<string, string>): boolean {
    if (selector.matchExpressions) throw new Error("matchExpressions are not read here");
    return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

function peerMatches(peer: Peer, endpoint: Endpoint, policyNamespace: string): boolean {
    if (peer.ipBlock)
        return "outside" in endpoint && (peer.ipBlock.cidr === "0.0.0.0/0" || peer.ipBlock.cidr === "::/0");
    if ("outside" in endpoint) return false;
    const namespaceOk = peer.namespaceSelector
        ? Object.keys(peer.namespaceSelector.matchLabels ?? {}).length === 0
        : endpoint.namespace === policyNamespace;
    return namespaceOk && matches(peer.podSelector ?? {}, endpoint.labels);
}

const portMatches = (rule: Rule, port: number, protocol: string) =>
    !rule.ports || rule.ports.some((p) => p.port === port && (p.protocol ?? "TCP") === protocol);

/** Whether `from` may open a connection to `to` on `port` under `policies` (all in `namespace`). */
export function mayConnect(
    policies: NamedPolicy[],
    namespace: string,
    from: Endpoint,
    to: Endpoint,
    port: number,
    protocol = "TCP",
): boolean {
    const selecting = (endpoint: Endpoint, type: "Ingress" | "Egress") =>
        "outside" in endpoint || endpoint.namespace !== namespace
            ? []
            : policies.filter(
                  (p) =>
                      (p.spec.policyTypes as string[]).includes(type) &&
                      matches(p.spec.podSelector as Selector, endpoint.labels),
              );
    const egress = selecting(from, "Egress");
    const egressOk =
        egress.length === 0 ||
        egress.some((p) =>
            ((p.spec.egress ?? []) as Rule[]).some(
                (rule) =>
                    portMatches(rule, port, protocol) &&
                    (!rule.to || rule.to.some((peer) => peerMatches(peer, to, namespace))),
            ),
        );
    const ingress = selecting(to, "Ingress");
    const ingressOk =
        ingress.length === 0 ||
        ingress.some((p) =>
            ((p.spec.ingress ?? []) as Rule[]).some(
                (rule) =>
                    portMatches(rule, port, protocol) &&
                    (!rule.from || rule.from.some((peer) => peerMatches(peer, from, namespace))),
            ),
        );
    return egressOk && ingressOk;
}
