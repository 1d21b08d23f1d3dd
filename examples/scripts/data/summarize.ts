// Summarize product counts from the sales export (TypeScript, run through tsx).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Row {
  product: string;
  units: number;
}

if (process.argv.includes('--help')) {
  console.log('usage: summarize.ts\n\nPrints units sold per product.');
  process.exit(0);
}
const csvPath = fileURLToPath(new URL('../../data/sales.csv', import.meta.url));
const rows: Row[] = readFileSync(csvPath, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(','))
  .filter((cells) => cells[3] !== '')
  .map((cells) => ({ product: cells[2] ?? '?', units: Number(cells[3]) }));
const totals = new Map<string, number>();
for (const row of rows) totals.set(row.product, (totals.get(row.product) ?? 0) + row.units);
for (const [product, units] of [...totals].sort()) console.log(`${product.padEnd(8)} ${units}`);
