/** Unit and mock tests; the real-services suites (tests/peers/*.test.ts) and tests/e2e have their own configs. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/peers/[^/]+\\.test\\.ts$", "<rootDir>/tests/e2e/"],
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true }] },
  testTimeout: 60000,
};
