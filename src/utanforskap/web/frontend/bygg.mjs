// Copies the map library's dist files from node_modules into the Python package's static
// folder (served locally by the app; no CDN). Run by `npm run bygg` after `npm ci`.
import { copyFileSync, mkdirSync, existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "static", "vendor", "maplibre-gl");
const source = join(here, "node_modules", "maplibre-gl");
// The ES module loads its worker from the same folder (new URL("./maplibre-gl-worker.mjs", import.meta.url)).
const files = [
  ["dist/maplibre-gl.mjs", "maplibre-gl.mjs"],
  ["dist/maplibre-gl-worker.mjs", "maplibre-gl-worker.mjs"],
  ["dist/maplibre-gl.css", "maplibre-gl.css"],
  ["LICENSE.txt", "LICENSE.txt"],
];

if (!existsSync(source)) {
  console.error(`${source} saknas: kör först npm ci i ${here}`);
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(source, from), join(target, to));
}
console.log(`Kopierade ${files.length} filer till ${target}`);
