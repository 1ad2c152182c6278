import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources (the "source" export condition of every
// workspace package), so `vitest` needs no build; e2e tests spawn bin/thanos-ts and
// therefore run after `pnpm build` (see the root "test" script).
export default defineConfig({
  resolve: { conditions: ['source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default']} },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { execArgv: ['--openssl-legacy-provider'] } },
    reporters: ['default'],
  },
});
