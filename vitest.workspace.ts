// The one vitest config for the monorepo (`vitest --config vitest.workspace.ts`): one project per package.
// Tests run in Vite's SSR environment, so the source condition goes on `ssr.resolve.conditions`.
import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

const packages = ["core", "runtime", "level", "pg", "s3", "http", "cli"] as const

export default defineConfig({
  ssr: { resolve: { conditions: ["@graviton/source", ...defaultServerConditions] } },
  test: {
    passWithNoTests: true,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: packages.map((name) => ({
      test: { name, root: `packages/${name}`, include: ["test/**/*.test.ts"] }
    }))
  }
})
