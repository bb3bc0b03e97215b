/** The real-services suite (npm run test:peers): real Ollama, LiteLLM and registry processes on loopback. */
const unit = require("./jest.config.js");

module.exports = {
    ...unit,
    roots: ["<rootDir>/tests/peers"],
    // The peers' support code and the benchmark's have plain unit tests, which npm test runs.
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/peers/support/", "<rootDir>/tests/peers/bench/"],
    // The peers listen on fixed loopback ports: one suite at a time.
    maxWorkers: 1,
    // One line and a stop when peers/install.sh has not run, instead of every suite failing on its own.
    globalSetup: "<rootDir>/tests/peers/support/requirements.ts",
    testTimeout: 300000,
};
