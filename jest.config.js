/** Unit and mock tests; the real-services (tests/peers/), end-to-end (tests/e2e/) and Kubernetes (tests/k8s/) suites have their own configs. */
const { availableParallelism } = require("node:os");

module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testPathIgnorePatterns: [
        "/node_modules/",
        "<rootDir>/tests/peers/[^/]+\\.test\\.ts$",
        "<rootDir>/tests/e2e/[^/]+\\.test\\.ts$",
        "<rootDir>/tests/k8s/[^/]+\\.test\\.ts$",
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
    // The suites wait on child processes, containers and timeouts about as much as they compute: more workers
    // than cores keep the cores busy (jest's default, cores - 1, is a single worker on 2 cores). A number, not
    // "150%": jest reads a percentage above 100% as a worker count (150).
    maxWorkers: Math.ceil(availableParallelism() * 1.5),
    testTimeout: 60000,
};
