/** Unit and mock tests; the real-services (tests/peers/) and end-to-end (tests/e2e/) suites have their own configs. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testPathIgnorePatterns: [
    "/node_modules/",
    "<rootDir>/tests/peers/[^/]+\\.test\\.ts$",
    "<rootDir>/tests/e2e/[^/]+\\.test\\.ts$",
  ],
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true }] },
  testTimeout: 60000,
};
