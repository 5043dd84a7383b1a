// Prints the test notes with ESC/POS encoders no one at Passerelle wrote,
// one file per case in the folder given as the first argument:
// NAME.bin (the bytes a till would send) and NAME.txt (the note's lines as
// the paper shows them). Run by drivers/escpos's tests after `npm ci`.
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import EscPosEncoder from 'esc-pos-encoder';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];

// A 64x32 logo: a frame with a cross, as RGBA.
function logo() {
  const width = 64, height = 32;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const ink = x < 2 || y < 2 || x >= width - 2 || y >= height - 2 || x === y * 2;
      const v = ink ? 0 : 255;
      data.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

const brief = [
  'TABLE 5',
  'NOTE N° 1253',
  'SERVEUR : Julie',
  '1 X PLAT N°4          23,50',
  '1 X PLAT N°1          30,00',
  'NET À PAYER :         53,50',
  'TVA 10,00%             4,86',
];

const bistro = [
  'Table 12',
  'Note 88',
  'Couverts : 2',
  '2 PLAT DU JOUR       31,00 €',
  '1 CAFÉ CRÈME          3,50 €',
  '1 CRÈME BRÛLÉE        7,50 €',
  'TOTAL TTC            42,00 €',
  'TVA 10,00%            3,82 €',
];

const brasserie = [
  'T.7',
  'NOTE N° 4410',
  'Serveur : Hélène',
  '1 x Entrecôte        24,00 EUR',
  '3 x Bière pression   16,50 EUR',
  'A PAYER              40,50 EUR',
];

// header prints the restaurant's name large and centred, then the logo.
function header(e, mode) {
  return e.initialize()
    .align('center').size(2, 2).bold(true).line('LE RELAIS').bold(false).size(1, 1)
    .image(logo(), 64, 32, 'threshold')
    .line('12 rue de la Paix').line('75002 PARIS')
    .align('left').newline();
}

function footer(e) {
  return e.newline().align('center').underline(true).line('Merci !').underline(false)
    .qrcode('https://example.invalid/avis?note=1253')
    .barcode('3760001234567', 'ean13', 60)
    .newline().align('left').cut();
}

function note(e, lines, codepage) {
  e.codepage(codepage);
  for (const l of lines) e.line(l);
  return e;
}

const cases = [];
function add(name, lines, bytes) {
  writeFileSync(join(out, name + '.bin'), bytes);
  writeFileSync(join(out, name + '.txt'), lines.join('\n') + '\n');
  cases.push(name);
}

for (const [cp, mode] of [['cp858', 'column'], ['windows1252', 'raster'], ['cp850', 'column'], ['iso8859-15', 'raster']]) {
  const e = new ReceiptPrinterEncoder({ language: 'esc-pos', printerModel: 'epson-tm-t88vi', imageMode: mode, columns: 48 });
  header(e, mode);
  note(e, brief, cp);
  footer(e);
  add(`rpe-brief-${cp}-${mode}`, brief, e.encode());
}

for (const [lines, name, cp] of [[bistro, 'bistro', 'cp858'], [brasserie, 'brasserie', 'cp850'], [bistro, 'bistro', 'windows1252']]) {
  const e = new EscPosEncoder({ width: 48 });
  header(e, 'column');
  note(e, lines, cp);
  footer(e);
  add(`epe-${name}-${cp}`, lines, e.encode());
}

// cp437 has no €: the amounts say EUR.
{
  const e = new ReceiptPrinterEncoder({ language: 'esc-pos', columns: 48 });
  header(e, 'column');
  note(e, brasserie, 'cp437');
  footer(e);
  add('rpe-brasserie-cp437', brasserie, e.encode());
}

writeFileSync(join(out, 'cases.json'), JSON.stringify(cases));
