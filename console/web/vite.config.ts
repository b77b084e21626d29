import { defineConfig } from 'vitest/config';

// The console is served by the daemon under /console/ (console/console.go
// embeds ../dist). No external assets: everything the page needs is in dist.
export default defineConfig({
  base: '/console/',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
