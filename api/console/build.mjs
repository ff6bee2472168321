// Builds dist/, the folder api/console.go embeds: the page's own files from
// src/ as they are, and MapLibre GL JS's browser files from node_modules
// without their source-map comments (the maps are not shipped). No bundler:
// the page loads them as ES modules. The output depends only on src/ and on
// the maplibre-gl version pinned in package-lock.json.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
const maplibre = join(here, 'node_modules', 'maplibre-gl');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

for (const name of readdirSync(src).sort()) copyFileSync(join(src, name), join(dist, name));

const stripMap = (text) => text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
for (const name of ['maplibre-gl.mjs', 'maplibre-gl-worker.mjs', 'maplibre-gl.css']) {
  const text = readFileSync(join(maplibre, 'dist', name), 'utf8');
  writeFileSync(join(dist, name), stripMap(text).replace(/\/\*# sourceMappingURL=\S+ \*\/\s*$/, ''));
}
copyFileSync(join(maplibre, 'LICENSE.txt'), join(dist, 'maplibre-gl.LICENSE.txt'));
// Chart.js for the 考核 figures (figures.js): its self-contained UMD build.
const chartjs = join(here, 'node_modules', 'chart.js');
writeFileSync(join(dist, 'chart.umd.min.js'), stripMap(readFileSync(join(chartjs, 'dist', 'chart.umd.min.js'), 'utf8')));
copyFileSync(join(chartjs, 'LICENSE.md'), join(dist, 'chart.js.LICENSE.md'));

const { version } = JSON.parse(readFileSync(join(maplibre, 'package.json'), 'utf8'));
console.log(`dist/: ${readdirSync(dist).length} files, maplibre-gl ${version}`);
