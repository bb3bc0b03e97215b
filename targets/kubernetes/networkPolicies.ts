/**
 * Who may talk to whom on Kubernetes, said as NetworkPolicies, from the services' descriptions: what the Docker
 * target says with its networks and its door. Every pod of the stack is denied everything, then each service is
 * opened to its callers (model/services.ts `callers`) on its port, and may call the services that list it, the
 * cluster's DNS, and, only where it may (`internet`: Ollama for its model pulls, the cloud router for the cloud
 * API), the world. Pure; a CNI that enforces NetworkPolicies (Calico, Cilium, ...) makes them true.
 */
import type { types } from "@pulumi/kubernetes";
import { PROJECT } from "../../config/primitives";
import { Caller, ServiceSpec } from "../../model/services";
import { COMPONENT, MODEL_PULL_COMPONENT, PART_OF, STACK, selectorOf } from "./names";
import { pullLabels } from "./workloads";

type PolicySpec = types.input.networking.v1.NetworkPolicySpec;
type Peer = types.input.networking.v1.NetworkPolicyPeer;

/** A NetworkPolicy of the stack, by name. */
export interface NamedPolicy {
    /** The policy's name. */
    name: string;
    /** Its spec. */
    spec: PolicySpec;
}

/** The cluster's DNS (kube-dns, or CoreDNS under that label), which every pod needs to find the Services. */
const DNS_PEER: Peer = { namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } };
const DNS_PORTS = [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
];
/** Everywhere: an ipBlock for each family. */
const WORLD: Peer[] = [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }];

/** The pods of every service of `role` in the stack, or of the model pulls. */
function podsOf(role: Exclude<Caller, "clients">, stack: string): Peer {
    const component = role === "modelPulls" ? MODEL_PULL_COMPONENT : role;
    return { podSelector: { matchLabels: { [PART_OF]: PROJECT, [STACK]: stack, [COMPONENT]: component } } };
}

/** The services a service may call: those that list its role among their callers. */
export function calleesOf(caller: Caller, services: ServiceSpec[]): ServiceSpec[] {
    return services.filter((s) => s.callers.includes(caller));
}

/** Every NetworkPolicy of the stack: the deny of everything, then one per service and one per instance's pulls. */
export function networkPolicies(services: ServiceSpec[], stack: string): NamedPolicy[] {
    const egressTo = (callees: ServiceSpec[]) =>
        callees.map((callee) => ({
            to: [{ podSelector: { matchLabels: selectorOf(callee.name) } }],
            ports: [{ protocol: "TCP", port: callee.port.container }],
        }));
    const dns = { to: [DNS_PEER], ports: DNS_PORTS };
    return [
        {
            name: "deny-all",
            spec: {
                podSelector: { matchLabels: { [PART_OF]: PROJECT, [STACK]: stack } },
                policyTypes: ["Ingress", "Egress"],
            },
        },
        ...services.map((service) => ({
            name: service.name,
            spec: {
                podSelector: { matchLabels: selectorOf(service.name) },
                policyTypes: ["Ingress", "Egress"],
                ingress: service.callers.map((caller) => ({
                    // Clients come from outside the stack (an Ingress controller, a port-forward): from anywhere.
                    ...(caller === "clients" ? {} : { from: [podsOf(caller, stack)] }),
                    ports: [{ protocol: "TCP", port: service.port.container }],
                })),
                egress: [
                    ...egressTo(calleesOf(service.role, services)),
                    dns,
                    ...(service.internet ? [{ to: WORLD }] : []),
                ],
            },
        })),
        ...services
            .filter((service) => service.pulls.length > 0)
            .map((instance) => ({
                name: `${instance.name}-pull`,
                spec: {
                    podSelector: { matchLabels: pullLabels(instance, stack) },
                    policyTypes: ["Ingress", "Egress"],
                    ingress: [],
                    // The pull's client asks its own instance, which downloads the model itself.
                    egress: [...egressTo([instance]), dns],
                },
            })),
    ];
}
