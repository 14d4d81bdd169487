// `npm run bench [area]`: runs each area's benchmark (bench/<area>.ts exports run()) and
// writes its section of bench/RESULTS.md.
import { writeSection, type Section } from './lib/results.ts';

const areas = ['api', 'controllers', 'agent', 'proxy', 'proxy-userspace', 'dns'] as const;
const want = process.argv[2] ?? 'all';
// `all` runs proxy-userspace as part of proxy (bench/proxy.ts), not a second time.
const chosen = want === 'all' ? areas.filter((a) => a !== 'proxy-userspace') : areas.filter((a) => a === want);
if (chosen.length === 0) {
  console.error(`unknown bench area ${JSON.stringify(want)}; one of: all, ${areas.join(', ')}`);
  process.exit(2);
}
for (const area of chosen) {
  let mod: { run: () => Promise<Section> };
  try {
    mod = (await import(`./${area}.ts`)) as { run: () => Promise<Section> };
  } catch (e) {
    console.error(`bench ${area}: not available (${(e as Error).message})`);
    if (want !== 'all') process.exit(1);
    continue;
  }
  console.error(`bench ${area}: running`);
  writeSection(await mod.run());
}
