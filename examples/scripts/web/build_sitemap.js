// Build a sitemap from the list of pages and print it as XML.
const pages = ['/', '/pricing', '/docs', '/docs/getting-started', '/blog'];
const base = process.env.SITE_URL ?? 'https://example.org';
if (process.argv.includes('--help')) {
  console.log('usage: build_sitemap.js\n\nenv: SITE_URL (default https://example.org)');
  process.exit(0);
}
console.log('<?xml version="1.0" encoding="UTF-8"?>');
console.log('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">');
for (const page of pages) console.log(`  <url><loc>${base}${page}</loc></url>`);
console.log('</urlset>');
console.error(`${pages.length} pages`);
