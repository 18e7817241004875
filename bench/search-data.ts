/**
 * Fills an ArtStore catalog (`files`, migrated) with generated documents for the search
 * benchmark: Russian and English names, descriptions, tags and metadata, built inside PostgreSQL
 * with `insert … select generate_series` (no rows cross the wire). The trigger of the search
 * migration computes every row's tsvector, as it does for real writes.
 *
 * Frequencies are chosen so each query kind of bench/search.ts hits a known share of the rows:
 * a name word ≈ 1.5 % (70 words, two per name), the tag `archive` 10 %, a counterparty in the
 * metadata ≈ 0.02 % (5 000 generated names).
 */
import { Client } from 'pg';

export const NAME_WORDS_EN = [
  'report',
  'invoice',
  'contract',
  'agreement',
  'statement',
  'budget',
  'plan',
  'policy',
  'memo',
  'letter',
  'minutes',
  'proposal',
  'specification',
  'schedule',
  'inventory',
  'receipt',
  'audit',
  'summary',
  'review',
  'presentation',
  'analysis',
  'forecast',
  'order',
  'request',
  'certificate',
  'license',
  'manual',
  'guide',
  'payroll',
  'tender',
  'quarterly',
  'annual',
  'monthly',
  'draft',
  'final',
];
export const NAME_WORDS_RU = [
  'договор',
  'счет',
  'отчет',
  'акт',
  'приказ',
  'письмо',
  'протокол',
  'справка',
  'заявление',
  'смета',
  'накладная',
  'доверенность',
  'спецификация',
  'соглашение',
  'выписка',
  'записка',
  'распоряжение',
  'положение',
  'инструкция',
  'регламент',
  'план',
  'бюджет',
  'анализ',
  'прогноз',
  'заказ',
  'заявка',
  'сертификат',
  'лицензия',
  'поставки',
  'аренды',
  'услуг',
  'работ',
  'годовой',
  'квартальный',
  'итоговый',
];
const DESCRIPTION_WORDS = [
  ...NAME_WORDS_EN,
  ...NAME_WORDS_RU,
  'signed',
  'approved',
  'pending',
  'customer',
  'supplier',
  'warehouse',
  'office',
  'project',
  'delivery',
  'payment',
  'copy',
  'scan',
  'original',
  'version',
  'department',
  'meeting',
  'board',
  'legal',
  'finance',
  'подписан',
  'утвержден',
  'клиент',
  'поставщик',
  'склад',
  'офис',
  'проект',
  'доставка',
  'оплата',
  'копия',
  'скан',
  'оригинал',
  'версия',
  'отдел',
  'совещание',
  'правление',
  'юридический',
  'финансовый',
  'по',
  'для',
  'от',
  'of',
  'for',
  'the',
  'and',
  'with',
];
const TAGS = [
  'finance',
  'legal',
  'hr',
  'sales',
  'it',
  'бухгалтерия',
  'кадры',
  'закупки',
  'проекты',
  'срочно',
];
const DEPARTMENTS = ['accounting', 'legal', 'sales', 'бухгалтерия', 'юротдел', 'склад', 'it', 'hr'];
const EXTENSIONS = ['pdf', 'docx', 'xlsx', 'txt', 'png', 'jpg'];
const TYPES = [
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'text/plain',
  'image/png',
  'image/jpeg',
];

/** 5 000 pronounceable made-up company names, half Latin, half Cyrillic (deterministic). */
export function counterparties(): string[] {
  const latin = ['ka', 'lo', 'mir', 'va', 'ten', 'ro', 'sel', 'dor', 'mi', 'nax'];
  const cyr = ['ка', 'ло', 'мир', 'ва', 'тен', 'ро', 'сел', 'дор', 'ми', 'накс'];
  const names: string[] = [];
  for (let i = 0; i < 5000; i += 1) {
    const s = i < 2500 ? latin : cyr;
    const n = i % 2500;
    names.push(
      `${s[n % 10]}${s[Math.floor(n / 10) % 10]}${s[Math.floor(n / 100) % 10]}${s[Math.floor(n / 1000) % 10]}`,
    );
  }
  return [...new Set(names)];
}

const SQL = `
insert into files (file_id, name, name_words, collection, content_type, size, sha256, uploader, uploaded_at,
                   status, retention_policy, expires_at, attributes)
select id, name, name_words, collection, content_type, size, sha, uploader, uploaded_at, 'active', policy,
       case when policy = 'temporary' then uploaded_at + interval '30 days' end,
       jsonb_build_object(
         'schema_version', 1, 'file_id', id, 'name', name, 'original_name', null,
         'content_type', content_type, 'sniffed_content_type', null, 'size', size, 'sha256', sha,
         'collection', collection, 'uploader', uploader, 'uploaded_at', at, 'updated_at', at,
         'description', description, 'tags', tags, 'metadata', metadata,
         'retention', case when policy = 'temporary'
           then jsonb_build_object('policy', 'temporary', 'ttl_days', 30,
                  'expires_at', to_char((uploaded_at + interval '30 days') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
           else jsonb_build_object('policy', 'permanent', 'retain_until', null, 'legal_hold', false) end,
         'status', 'active', 'attr_version', 1,
         'stored', jsonb_build_object('key', id::text, 'encoding', 'identity', 'size', size, 'sha256', sha))
from (
  select *, to_char(uploaded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at,
         case when ru then initcap(w1) || '_' || w2 || '_' || year || '.' || ext
              else initcap(w1) || initcap(w2) || '_' || year || '-v' || v || '.' || ext end as name,
         w1 || ' ' || w2 || ' ' || year || case when ru then '' else ' v ' || v end || ' ' || ext as name_words
    from (
      select gen_random_uuid() as id,
             g % 2 = 0 as ru,
             (case when g % 2 = 0 then $1::text[] else $2::text[] end)[1 + floor(random() * 35)::int] as w1,
             (case when g % 2 = 0 then $1::text[] else $2::text[] end)[1 + floor(random() * 35)::int] as w2,
             2015 + floor(random() * 11)::int as year,
             1 + floor(random() * 9)::int as v,
             ($4::text[])[1 + (g % 6)] as ext,
             ($5::text[])[1 + (g % 6)] as content_type,
             concat_ws(' ', ($3::text[])[1 + floor(random() * $11)::int], ($3::text[])[1 + floor(random() * $11)::int],
                       ($3::text[])[1 + floor(random() * $11)::int], ($3::text[])[1 + floor(random() * $11)::int],
                       case when g % 2 = 0 then ($3::text[])[1 + floor(random() * $11)::int] end) as description,
             'c' || (g % 8) as collection,
             (1000 + floor(random() * 5e6))::bigint as size,
             md5(g::text) || md5(g::text || 'x') as sha,
             'svc-' || (g % 20) as uploader,
             timestamptz '2025-01-01' + (g * interval '17 seconds') as uploaded_at,
             case when g % 3 = 0 then 'permanent' else 'temporary' end as policy,
             to_jsonb(array_remove(array[($6::text[])[1 + (g % 10)],
                      case when random() < 0.3 then ($6::text[])[1 + floor(random() * 10)::int] end,
                      case when random() < 0.1 then 'archive' end], null)) as tags,
             jsonb_build_object('department', ($7::text[])[1 + (g % 8)],
                                'counterparty', ($8::text[])[1 + floor(random() * $12)::int]) as metadata
        from generate_series($9::bigint, $10::bigint) g) r0
  ) r`;

/** Inserts rows `from..to` (1-based) in batches, printing progress; returns the seconds it took. */
export async function fillCatalog(url: string, rows: number, say: (line: string) => void): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  const started = Date.now();
  try {
    await client.query('select setseed(0.42)');
    const batch = 50_000;
    const names = counterparties();
    for (let from = 1; from <= rows; from += batch) {
      const to = Math.min(rows, from + batch - 1);
      await client.query(SQL, [
        NAME_WORDS_RU,
        NAME_WORDS_EN,
        DESCRIPTION_WORDS,
        EXTENSIONS,
        TYPES,
        TAGS,
        DEPARTMENTS,
        names,
        from,
        to,
        DESCRIPTION_WORDS.length,
        names.length,
      ]);
      if (to % 200_000 === 0 || to === rows)
        say(`  generated ${to.toLocaleString('en')} rows (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    await client.query('vacuum analyze files');
  } finally {
    await client.end();
  }
  return (Date.now() - started) / 1000;
}
