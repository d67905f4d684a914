import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [svelte()],
  // Tauri serves the built files; no dev-server surprises in the shipped app.
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  // Svelte 5 components in jsdom need the browser build.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/tests/setup.ts'],
  },
})
