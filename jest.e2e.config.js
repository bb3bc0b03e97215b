/** The end-to-end suite (npm run test:e2e): the real Pulumi engine deploys real stacks on the local Docker engine. */
const unit = require("./jest.config.js");

module.exports = {
    ...unit,
    roots: ["<rootDir>/tests/e2e"],
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/e2e/support/"],
    // Stacks use fixed container names, networks and ports: one suite at a time.
    maxWorkers: 1,
    testTimeout: 1_200_000,
    // A failed step can leave a killed run's plugins or a server handle behind: the suite must still end on
    // its own (its afterAll hooks have cleaned up by then), never wait for CI's limit.
    forceExit: true,
};
