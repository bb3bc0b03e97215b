/** The end-to-end suite (npm run test:e2e): the real Pulumi engine deploys real stacks on the local Docker engine. */
const unit = require("./jest.config.js");

module.exports = {
    ...unit,
    roots: ["<rootDir>/tests/e2e"],
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/e2e/support/"],
    // Stacks use fixed container names, networks and ports: one suite at a time.
    maxWorkers: 1,
    testTimeout: 1_200_000,
};
