/** jest globalTeardown of the Kubernetes suite: the control plane stops, pass or fail. */
import { stopControlPlane } from "./cluster";

export default function tearDownCluster(): void {
    stopControlPlane();
}
