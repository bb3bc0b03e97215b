/** Verdicts of rule-by-rule checks (`audit`, `doctor`) and how they are reported. */
import { CommandIO } from "./cli";
import { formatTable } from "./table";

/** `warn` and `skip` are shown but do not fail the command; `fail` does. */
export type Verdict = "pass" | "warn" | "skip" | "fail";

/** One rule applied to one subject. */
export interface Finding {
    /** Rule name (`bind-address`, `docker`, ...). */
    rule: string;
    /** What it was applied to: a container, a host, the stack. */
    subject: string;
    /** The outcome. */
    verdict: Verdict;
    /** What was seen, and for a failure what to do. */
    detail: string;
}

/** A finding maker for one rule and subject. */
export function findingFor(rule: string, subject: string) {
    return (verdict: Verdict, detail: string): Finding => ({ rule, subject, verdict, detail });
}

/** Prints the findings as a table (or JSON) and a summary line; resolves to the exit code: 1 when any failed. */
export function reportFindings(
    io: CommandIO,
    command: string,
    stack: string,
    findings: Finding[],
    json: boolean,
): number {
    const failed = findings.filter((f) => f.verdict === "fail");
    if (json) io.out(`${JSON.stringify({ stack, passed: failed.length === 0, findings }, null, 2)}\n`);
    else
        io.out(
            formatTable(
                ["RULE", "SUBJECT", "RESULT", "DETAIL"],
                findings.map((f) => [f.rule, f.subject, f.verdict.toUpperCase(), f.detail]),
            ),
        );
    io.err(
        failed.length === 0
            ? `${command}: stack ${stack} passes all ${findings.length} checks\n`
            : `${command}: stack ${stack} fails ${failed.length} of ${findings.length} checks: ${[...new Set(failed.map((f) => f.rule))].join(", ")}\n`,
    );
    return failed.length === 0 ? 0 : 1;
}
