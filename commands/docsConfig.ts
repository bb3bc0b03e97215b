/** `npm run docs:config`: rewrites the config reference in README.md from the schema. */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { withReference } from "../config/reference";

const readme = path.resolve(__dirname, "..", "README.md");
writeFileSync(readme, withReference(readFileSync(readme, "utf8")));
console.log(`updated the config reference in ${readme}`);
