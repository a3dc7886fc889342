/**
 * @graviton/cli — the `graviton` command (see `Cli`). Run it with `npx graviton` or `npm start` (serve).
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.ts"
export * as ExitCode from "./ExitCode.ts"
export * as Target from "./Target.ts"
