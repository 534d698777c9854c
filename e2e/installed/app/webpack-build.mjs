// Bundles todo-app.js with webpack 5 for production, with no plugin and no configuration for
// shelfdb: webpack follows `new Worker(new URL('./worker.js', import.meta.url))` by itself.
import { resolve } from 'node:path';
import webpack from 'webpack';

const compiler = webpack({
  mode: 'production',
  entry: './todo-app.js',
  output: { path: resolve('build-webpack'), filename: 'app.js', clean: true },
});
compiler.run((error, stats) => {
  if (error || stats.hasErrors()) {
    console.error(error ?? stats.toString('errors-only'));
    process.exitCode = 1;
  }
  compiler.close((closeError) => {
    if (closeError) {
      console.error(closeError);
      process.exitCode = 1;
    }
  });
});
