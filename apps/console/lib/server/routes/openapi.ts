import { z } from 'zod';
import { json, route } from '../http';

// GET /api/openapi.json: the REST API described from the route table itself, so a route cannot be added without
// appearing here. A table entry's `summary` and `requestSchema` (zod → JSON Schema) fill in the details.

export const getOpenApi = route(async () => {
  // Imported lazily: the route table imports this module.
  const { ROUTES } = await import('../route-table');
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const p = r.path.replace(/\[([^\]]+)\]/g, '{$1}');
    const parameters = [...r.path.matchAll(/\[([^\]]+)\]/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const op: Record<string, unknown> = {
      summary: r.summary ?? `${r.method} ${p}`,
      tags: [r.path.split('/')[4] ?? r.path.split('/')[2] ?? 'api'],
      parameters,
      responses: {
        '200': { description: 'OK' },
        '4XX': {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      ...(r.minRole ? { 'x-min-role': r.minRole } : {}),
      security: r.scope === 'public' ? [] : [{ session: [] }, { apiKey: [] }],
    };
    if (r.requestSchema) {
      op.requestBody = {
        required: true,
        content: {
          'application/json': { schema: z.toJSONSchema(r.requestSchema, { io: 'input', unrepresentable: 'any' }) },
        },
      };
    }
    paths[p] ??= {};
    paths[p][r.method.toLowerCase()] = op;
  }
  return json({
    openapi: '3.1.0',
    info: { title: 'Crucible API', version: '0.1.0' },
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'better-auth.session_token' },
        apiKey: { type: 'http', scheme: 'bearer', description: 'A workspace API key (crk_...)' },
      },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                param: { type: ['string', 'null'] },
                reason: {
                  type: 'object',
                  description:
                    'When known, the precise failure as a stable code (e.g. "zod.too_small") and its parameters, for clients that show errors in other languages.',
                  properties: { code: { type: 'string' }, params: { type: 'object' } },
                },
              },
            },
          },
        },
      },
    },
  });
});
