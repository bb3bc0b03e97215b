/** Unit and mock tests; the real-services (tests/peers/) and end-to-end (tests/e2e/) suites have their own configs. */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testPathIgnorePatterns: [
        "/node_modules/",
        "<rootDir>/tests/peers/[^/]+\\.test\\.ts$",
        "<rootDir>/tests/e2e/[^/]+\\.test\\.ts$",
    ],
    // `tsc -p .` type-checks before jest runs: the tests only need the TypeScript stripped, file by file, with
    // tsconfig's output settings (CommonJS, ES2022, esModuleInterop).
    transform: {
        "^.+\\.ts$": [
            "@swc/jest",
            {
                jsc: { parser: { syntax: "typescript" }, target: "es2022" },
                module: { type: "commonjs" },
            },
        ],
    },
    testTimeout: 60000,
};
