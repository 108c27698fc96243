import { escapeHtml, html } from './html';

describe('html template', () => {
  it('escapes interpolated agent text so markup in it stays inert', () => {
    const plan = `<script>alert(1)</script><img src=x onerror="alert(2)">'`;
    const sut = html`<pre>${plan}</pre>`.value;
    expect(sut).toBe(
      '<pre>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;&#39;</pre>',
    );
  });

  it('keeps nested templates and lists as markup, and drops null, undefined and false', () => {
    const items = ['a<b', 'c'].map((s) => html`<li>${s}</li>`);
    const sut = html`<ul>
      ${items}${null}${undefined}${false}
    </ul>`.value;
    expect(sut.replace(/\s+/g, '')).toBe('<ul><li>a&lt;b</li><li>c</li></ul>');
  });

  it('escapes attribute-breaking quotes and backticks', () => {
    expect(escapeHtml('" onmouseover=`x`')).toBe('&quot; onmouseover=&#96;x&#96;');
  });
});
