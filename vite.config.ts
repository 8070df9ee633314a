// Builds Fluxweb's front-end islands into static/dist/ with a manifest that
// Django templates read (static/dist/.vite/manifest.json, keyed by the
// entry's source path, e.g. "frontend/graph-editor.tsx"). See docs/frontend.md.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react()],
  // Django serves static/ at STATIC_URL (/static/); chunks and assets are
  // referenced from there.
  base: '/static/dist/',
  publicDir: false,
  build: {
    outDir: 'static/dist',
    emptyOutDir: true,
    manifest: true,
    sourcemap: true,
    target: 'es2022',
    rolldownOptions: {
      input: {
        live: 'frontend/live.ts',
        dashboard: 'frontend/dashboard.ts',
        inbox: 'frontend/inbox.ts',
        'graph-view': 'frontend/graph-view.tsx',
        'graph-editor': 'frontend/graph-editor.tsx',
        schedules: 'frontend/schedules.ts',
      },
      // Keep live.ts's exports so a page can `import { LiveStream } from ...`.
      preserveEntrySignatures: 'exports-only',
    },
  },
  test: {
    include: ['frontend/**/*.test.ts', 'frontend/**/*.test.tsx'],
    environment: 'node',
  },
});
