/**
 * Entry point of the `graviton` command.
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Command } from "effect/cli"
import * as Effect from "effect/Effect"
import { cli } from "./Cli.ts"
import * as ExitCode from "./ExitCode.ts"

const json = process.argv.includes("--json")

const program = Command.run(cli, { version: "0.1.0", renderErrors: false }).pipe(Effect.provide(NodeServices.layer))

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    const outcome = ExitCode.ofExit(exit)
    if (outcome.code !== ExitCode.ok && outcome.message !== undefined) {
      process.stderr.write(
        json
          ? `${JSON.stringify({ error: outcome.error, message: outcome.message })}\n`
          : `graviton: ${outcome.message}\n`
      )
    }
    onExit(outcome.code)
  }
})
