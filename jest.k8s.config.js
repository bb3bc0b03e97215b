/** The Kubernetes suite (npm run test:k8s): the real engine deploys to the real control plane of ../shared/kubernetes. */
const unit = require("./jest.config.js");

module.exports = {
    ...unit,
    roots: ["<rootDir>/tests/k8s"],
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/k8s/support/"],
    // One control plane, with fixed ports, for the whole run.
    maxWorkers: 1,
    globalSetup: "<rootDir>/tests/k8s/support/globalSetup.ts",
    globalTeardown: "<rootDir>/tests/k8s/support/globalTeardown.ts",
    testTimeout: 600_000,
    forceExit: true,
};
