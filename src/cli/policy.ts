/** `policy audit`: every schema field with its access rule, read from the SDL exactly as the server reads it. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fieldsWithoutRule, policyTable } from '../auth/policy.ts';
import { buildSchema, loadTypeDefs, SCHEMA_DIR } from '../graphql/schema.ts';
import type { Command } from './command.ts';
import { CliError, ExitCode, parseOptions, table } from './io.ts';

export const policyAudit: Command = {
  name: 'policy audit',
  summary: 'every schema field with its access rule; fails if any field has none',
  help: `Usage: cli policy audit [--schema-dir DIR] [--json]

Builds the schema from DIR/*.graphql (default: the schema/ the server uses) and prints every field of every
object type with its rule (@public or @requiresScopes, on the field or inherited from its type).
Exits 1 and lists the fields without a rule: the server denies those to everyone and production refuses to start.`,
  async run(argv, { out }) {
    const o = parseOptions(argv, { 'schema-dir': { type: 'string' } });
    const dir = o['schema-dir'] ? resolve(o['schema-dir']) : SCHEMA_DIR;
    if (!existsSync(dir)) throw new CliError(`--schema-dir: no such directory: ${dir}`);
    let schema: ReturnType<typeof buildSchema>;
    try {
      schema = buildSchema(loadTypeDefs(dir));
    } catch (err) {
      throw new CliError(`the schema in ${dir} does not build: ${(err as Error).message}`);
    }
    const rows = policyTable(schema);
    const missing = fieldsWithoutRule(schema);
    await out.result({ schemaDir: dir, fields: rows.length, missing, rules: rows }, () =>
      [
        table(
          ['FIELD', 'RULE', 'FROM'],
          rows.map((r) => [r.field, r.rule, r.from]),
        ),
        '',
        missing.length
          ? `${missing.length} of ${rows.length} fields have no access rule (denied to everyone; production will not start):\n${missing.map((f) => `  ${f}`).join('\n')}`
          : `All ${rows.length} fields have an access rule.`,
      ].join('\n'),
    );
    if (missing.length) {
      if (out.json) out.note(`fields without an access rule: ${missing.join(', ')}`);
      return ExitCode.FAILED;
    }
    return ExitCode.OK;
  },
};
