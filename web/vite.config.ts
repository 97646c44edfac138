// Builds the dashboard into dist/dashboard, which the collector serves at `/`.
// Relative asset paths (`base: './'`) keep it working behind a path prefix too.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [preact()],
  build: {
    outDir: '../dist/dashboard',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev:web` proxies the API to a running collector (MESHMETRICS_URL, default :9090).
    proxy: {
      '/api': process.env.MESHMETRICS_URL ?? 'http://127.0.0.1:9090',
      '/federate': process.env.MESHMETRICS_URL ?? 'http://127.0.0.1:9090',
    },
  },
});
