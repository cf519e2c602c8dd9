/**
 * `npm run docs:diagrams`: renders every shipped process (processes/*.bpmn) to
 * docs/diagrams/<file>.svg with bpmn-js's own viewer, in Debian's headless Chromium — the diagrams
 * in the README are the models as they deploy, not drawings of them. Run it after changing a model.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../commands/chromium';

const root = path.join(__dirname, '..');
const processesDir = path.join(root, 'processes');
const outDir = path.join(__dirname, 'diagrams');

async function main(): Promise<void> {
  const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : fs.readdirSync(processesDir).filter((file) => file.endsWith('.bpmn'));
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.setContent('<!doctype html><html><body style="margin:0"><div id="canvas" style="width:1600px;height:1000px"></div></body></html>');
    await page.addScriptTag({ path: require.resolve('bpmn-js/dist/bpmn-viewer.production.min.js') });
    for (const file of files) {
      const xml = fs.readFileSync(path.join(processesDir, path.basename(file)), 'utf8');
      if (!xml.includes('BPMNDiagram')) {
        console.log(`${file}: skipped, the model has no diagram (no BPMN DI) to render`);
        continue;
      }
      const svg = await page.evaluate(async (source) => {
        const Viewer = (globalThis as unknown as { BpmnJS: new (options: { container: string }) => { importXML(xml: string): Promise<{ warnings: unknown[] }>; saveSVG(): Promise<{ svg: string }>; destroy(): void } }).BpmnJS;
        const viewer = new Viewer({ container: '#canvas' });
        try {
          const { warnings } = await viewer.importXML(source);
          if (warnings.length > 0) throw new Error(`${warnings.length} import warnings`);
          return (await viewer.saveSVG()).svg;
        } finally {
          viewer.destroy();
        }
      }, xml);
      const target = path.join(outDir, `${path.basename(file, '.bpmn')}.svg`);
      fs.writeFileSync(target, `${svg}\n`);
      console.log(`${path.relative(root, target)} (${Math.round(svg.length / 1024)} KB)`);
    }
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error('docs:diagrams failed:', error);
  process.exit(1);
});
