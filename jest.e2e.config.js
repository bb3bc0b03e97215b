/** End-to-end proofs with the real Pulumi engine (npm run test:e2e): real `up`s against the local Docker engine. */
const unit = require("./jest.config.js");

module.exports = {
    ...unit,
    roots: ["<rootDir>/tests/e2e"],
    testPathIgnorePatterns: ["/node_modules/"],
    // Stacks use fixed container names and ports: one at a time.
    maxWorkers: 1,
    testTimeout: 600000,
};
