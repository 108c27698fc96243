/** An RFC 9457 problem+json answer with this status (and `type` ending as given), with no stack trace in it. */
export function expectProblem(
  res: { status: number; body: any; headers: Headers },
  status: number,
  type?: RegExp,
): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  expect(JSON.stringify(res.body)).not.toMatch(/at \w+ \(|node_modules|\.ts:\d+/);
  if (type) {
    expect(res.body.type).toMatch(type);
  }
}
