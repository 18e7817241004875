import {
  blobKeyFor,
  blobKeyOfSidecar,
  fileIdOfBlobKey,
  isQuarantineKey,
  isSidecarKey,
  quarantineFolder,
  quarantineKeyFor,
  SIDECAR_SUFFIX,
  sidecarKeyFor,
} from '../../../src/domain/document/blob-key';

const ID = '0195f3a2-7b1c-7d4e-8f00-123456789abc';
const DAY = new Date('2026-03-01T10:00:00.000Z');

describe('blobKeyFor', () => {
  it.each<[string, string]>([
    ['report.pdf', `2026/03/01/report_${ID}.pdf`],
    ['README', `2026/03/01/README_${ID}`],
    ['archive.tar.gz', `2026/03/01/archive.tar_${ID}.gz`],
    ['my report (v2).PDF', `2026/03/01/my_report_v2_${ID}.PDF`],
    ['Отчёт за 2024.docx', `2026/03/01/Отчёт_за_2024_${ID}.docx`],
    ['報告書.pdf', `2026/03/01/報告書_${ID}.pdf`],
    ['.env', `2026/03/01/env_${ID}`],
    ['..', `2026/03/01/file_${ID}`],
    ['!!!.txt', `2026/03/01/file_${ID}.txt`],
    ['a b.t-x', `2026/03/01/a_b.t-x_${ID}`],
  ])('%j → %s', (name, key) => {
    expect(blobKeyFor(ID, name, DAY)).toBe(key);
  });

  it.each<[string, string]>([
    ['2026-03-01T23:30:00-05:00', '2026/03/02'],
    ['2026-03-02T00:30:00+02:00', '2026/03/01'],
    ['2026-12-31T23:59:59.999Z', '2026/12/31'],
    ['2027-01-01T00:00:00.000Z', '2027/01/01'],
    ['2028-02-29T12:00:00Z', '2028/02/29'],
  ])('dates %s by its UTC day %s', (instant, day) => {
    expect(blobKeyFor(ID, 'x.bin', new Date(instant))).toBe(`${day}/x_${ID}.bin`);
  });

  it('keeps at most 100 characters of the stem', () => {
    const key = blobKeyFor(ID, `${'я'.repeat(300)}.txt`, DAY);
    expect(key).toBe(`2026/03/01/${'я'.repeat(100)}_${ID}.txt`);
  });

  it('never produces path segments, hidden names or an empty stem', () => {
    for (const name of ['../../etc/passwd', '..\\..\\boot.ini', '.', '...', ' ', '/', '._x']) {
      const key = blobKeyFor(ID, name, DAY);
      const segments = key.split('/');
      expect(segments).toHaveLength(4);
      const file = segments[3]!;
      expect(file.startsWith('.')).toBe(false);
      expect(file.startsWith('_')).toBe(false);
      expect(file).toContain(`_${ID}`);
      expect(file.indexOf(`_${ID}`)).toBeGreaterThan(0);
    }
  });

  it('keeps only characters of the documented alphabet in the stem', () => {
    const key = blobKeyFor(ID, 'a:b*c?d"e<f>g|h%i#j&k@l+m=n~o,p;q', DAY);
    const stem = key.slice('2026/03/01/'.length, key.indexOf(`_${ID}`));
    expect(stem).toMatch(/^[\p{L}\p{M}\p{N}._-]+$/u);
    expect(stem).toBe('a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_p_q');
  });
});

describe('sidecar keys', () => {
  const blob = `2026/03/01/report_${ID}.pdf`;

  it('appends .attr.json to the blob key and strips it back', () => {
    expect(SIDECAR_SUFFIX).toBe('.attr.json');
    expect(sidecarKeyFor(blob)).toBe(`${blob}.attr.json`);
    expect(blobKeyOfSidecar(sidecarKeyFor(blob))).toBe(blob);
  });

  it('tells sidecars from blobs', () => {
    expect(isSidecarKey(sidecarKeyFor(blob))).toBe(true);
    expect(isSidecarKey(blob)).toBe(false);
  });

  it('never mistakes the blob of a file named like a sidecar for a sidecar', () => {
    for (const name of ['x.attr.json', 'attr.json', '.attr.json', 'notes.attr.json.attr.json']) {
      expect(isSidecarKey(blobKeyFor(ID, name, DAY))).toBe(false);
    }
  });
});

describe('file ids in keys and quarantine keys', () => {
  it('reads the file id back from any key blobKeyFor made, and nothing from other keys', () => {
    for (const name of ['report.pdf', 'no extension', 'a_b_c.tar.gz', 'Отчёт №5.PDF', 'x.attr.json'])
      expect(fileIdOfBlobKey(blobKeyFor(ID, name, DAY))).toBe(ID);
    expect(fileIdOfBlobKey(sidecarKeyFor(blobKeyFor(ID, 'a.pdf', DAY)))).toBeNull();
    for (const key of ['2026/03/01/stray.bin', 'readme', `2026/03/01/${ID}.pdf`])
      expect(fileIdOfBlobKey(key)).toBeNull();
  });

  it('keeps the original key under a dated quarantine prefix', () => {
    const key = blobKeyFor(ID, 'report.pdf', DAY);
    const folder = quarantineFolder(new Date('2026-03-02T10:20:30.456Z'), 'Ab3_x-9');
    expect(folder).toBe('2026-03-02T10-20-30.456Z_Ab3_x-9');
    const quarantined = quarantineKeyFor(key, folder);
    expect(quarantined).toBe(`quarantine/${folder}/${key}`);
    expect(isQuarantineKey(quarantined)).toBe(true);
    expect(isQuarantineKey(key)).toBe(false);
  });
});
