import { evaluateQuorum } from './quorum';

describe('evaluateQuorum', () => {
  const securityAndSre = [
    { groups: ['security'], quorum: 1 },
    { groups: ['sre'], quorum: 2 },
  ];

  it('needs every AND-ed group to reach its quorum', () => {
    const sut = evaluateQuorum(securityAndSre, [
      { approver: 's1', groups: ['security'] },
      { approver: 'r1', groups: ['sre'] },
    ]);
    expect(sut.satisfied).toBe(false);
    expect(sut.progress).toBe('2 of 3: security, sre');
  });

  it('counts one person once even when they are in several groups', () => {
    const sut = evaluateQuorum(securityAndSre, [
      { approver: 'both', groups: ['security', 'sre'] },
      { approver: 'both', groups: ['security', 'sre'] },
      { approver: 'r1', groups: ['sre'] },
    ]);
    expect(sut.satisfied).toBe(false);
    expect(sut.assignment.flat().filter((a) => a === 'both')).toHaveLength(1);
  });

  it('finds the assignment that satisfies the rule when a greedy one would not', () => {
    // "both" must fill security, so r1 and r2 fill sre.
    const sut = evaluateQuorum(securityAndSre, [
      { approver: 'both', groups: ['sre', 'security'] },
      { approver: 'r1', groups: ['sre'] },
      { approver: 'r2', groups: ['sre'] },
    ]);
    expect(sut.satisfied).toBe(true);
    expect(sut.assignment).toEqual([['both'], expect.arrayContaining(['r1', 'r2'])]);
  });

  it('pools groups of one requirement', () => {
    const sut = evaluateQuorum(
      [{ groups: ['a', 'b'], quorum: 2 }],
      [
        { approver: 'x', groups: ['a'] },
        { approver: 'y', groups: ['b'] },
      ],
    );
    expect(sut.satisfied).toBe(true);
  });

  it('ignores approvers outside every group', () => {
    expect(evaluateQuorum([{ groups: ['a'], quorum: 1 }], [{ approver: 'x', groups: ['c'] }]).satisfied).toBe(false);
  });
});
