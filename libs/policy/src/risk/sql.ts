import { Parser as MysqlParser } from 'node-sql-parser/build/mysql';
import { Parser as PostgresParser } from 'node-sql-parser/build/postgresql';
import { clip, lineAt, type Finding, type ParseOutcome } from './finding';

const postgres = new PostgresParser();
const mysql = new MysqlParser();

const SQL_START =
  /^\s*(SELECT|INSERT|UPDATE|DELETE|DROP|ALTER|TRUNCATE|CREATE|GRANT|REVOKE|BEGIN|START TRANSACTION|WITH|RENAME|COMMIT|SET|REPLACE)\b/i;
const TRANSACTION = /^(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|END)\b/i;

export function looksLikeSql(text: string): boolean {
  return SQL_START.test(stripComments(text));
}

function stripComments(text: string): string {
  return text.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

/** Splits SQL into statements at semicolons outside quotes and comments, with the offset each starts at. */
export function splitStatements(text: string): { sql: string; offset: number }[] {
  const out: { sql: string; offset: number }[] = [];
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) {
        quote = null;
      }
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else if (c === ';') {
      out.push({ sql: text.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  out.push({ sql: text.slice(start), offset: start });
  return out
    .map((s) => {
      const body = stripComments(s.sql);
      const lead = s.sql.length - s.sql.trimStart().length;
      // Point at the statement's first keyword, not the comment or blank lines before it.
      const firstWord = /\S/.exec(body);
      const skip = firstWord ? s.sql.indexOf(body.trim().split(/\s+/)[0], lead) : lead;
      return { sql: body.trim(), offset: s.offset + Math.max(lead, skip) };
    })
    .filter((s) => s.sql.length > 0);
}

type Ast = Record<string, unknown>;

function astify(sql: string): Ast[] | undefined {
  for (const [parser, database] of [
    [postgres, 'postgresql'],
    [mysql, 'mysql'],
  ] as const) {
    try {
      const ast = parser.astify(sql, { database }) as unknown;
      return (Array.isArray(ast) ? ast : [ast]) as Ast[];
    } catch {
      // try the next dialect
    }
  }
  return undefined;
}

function tableNames(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list
    .map((t) => {
      if (typeof t === 'string') {
        return t;
      }
      const o = (t ?? {}) as { db?: string | null; table?: unknown; schema?: string | null };
      const table = typeof o.table === 'string' ? o.table : undefined;
      return table ? [o.db ?? o.schema, table].filter(Boolean).join('.') : undefined;
    })
    .filter((t): t is string => typeof t === 'string');
}

/** SQL statements, each parsed with a real SQL parser (PostgreSQL, then MySQL dialect). */
export function sqlFindings(text: string, source = 'sql'): ParseOutcome {
  const findings: Finding[] = [];
  let understood = true;
  for (const { sql, offset } of splitStatements(text)) {
    const line = lineAt(text, offset);
    if (TRANSACTION.test(sql)) {
      continue;
    }
    const asts = astify(sql);
    if (!asts) {
      understood = false;
      findings.push({
        source,
        kind: 'unknown',
        weight: 0,
        line,
        detail: `SQL statement not understood: ${clip(sql, 80)}`,
      });
      if (/\b(SUPERUSER|BYPASSRLS)\b/i.test(sql)) {
        findings.push({
          source,
          kind: 'security',
          weight: 3,
          line,
          detail: `SQL gives superuser rights: ${clip(sql, 80)}`,
        });
      }
      continue;
    }
    for (const ast of asts) {
      findings.push(...statementFindings(ast, sql, line, source));
    }
  }
  return { understood, findings };
}

function statementFindings(ast: Ast, sql: string, line: number, source: string): Finding[] {
  const type = typeof ast.type === 'string' ? ast.type.toLowerCase() : '';
  const at = { source, line };
  switch (type) {
    case 'drop': {
      const keyword = typeof ast.keyword === 'string' ? ast.keyword.toLowerCase() : '';
      const names = tableNames(ast.name);
      const what = `${keyword.toUpperCase()} ${names.join(', ') || clip(sql, 60)}`.trim();
      const weight = keyword === 'database' || keyword === 'schema' ? 3 : keyword === 'table' ? 2 : 1;
      return [{ ...at, resource: names[0], kind: 'impact', weight, detail: `SQL DROP ${what}` }];
    }
    case 'truncate': {
      const names = tableNames(ast.name);
      return [{ ...at, resource: names[0], kind: 'impact', weight: 2, detail: `SQL TRUNCATE ${names.join(', ')}` }];
    }
    case 'delete':
    case 'update': {
      const names = tableNames(ast.table);
      if (ast.where === null || ast.where === undefined) {
        return [
          {
            ...at,
            resource: names[0],
            kind: 'impact',
            weight: 2,
            detail: `SQL ${type.toUpperCase()} without WHERE on ${names.join(', ')}`,
          },
        ];
      }
      return [];
    }
    case 'alter': {
      const names = tableNames(ast.table);
      const exprs = (Array.isArray(ast.expr) ? ast.expr : [ast.expr]) as { action?: string; resource?: string }[];
      const drops = exprs.some((e) => e?.action === 'drop');
      const superuser = /\bSUPERUSER\b|\bBYPASSRLS\b/i.test(sql);
      if (superuser) {
        return [{ ...at, kind: 'security', weight: 3, detail: `SQL gives superuser rights: ${clip(sql, 80)}` }];
      }
      return [
        {
          ...at,
          resource: names[0],
          kind: 'impact',
          weight: drops ? 2 : 1,
          detail: drops
            ? `SQL ALTER TABLE ${names.join(', ')} drops a column or constraint`
            : `SQL ALTER ${names.join(', ') || clip(sql, 60)}`,
        },
      ];
    }
    case 'grant':
    case 'revoke': {
      const all = /\bALL\b/i.test(sql) || /\bSUPERUSER\b/i.test(sql);
      return [
        {
          ...at,
          kind: 'security',
          weight: type === 'grant' ? (all ? 3 : 2) : 1,
          detail: `SQL ${type.toUpperCase()}${all ? ' of ALL privileges' : ''}: ${clip(sql, 80)}`,
        },
      ];
    }
    default:
      return [];
  }
}
