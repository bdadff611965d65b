// Teams as a choice: in tree order, sub-teams indented under their parent.

/** The teams ({slug, name, parent}) ordered parent first, each with its `depth`. */
export function teamOptions(teams) {
  const byParent = new Map();
  for (const team of teams) {
    const parent = team.parent?.slug ?? '';
    byParent.set(parent, [...(byParent.get(parent) ?? []), team]);
  }
  const ordered = [];
  const walk = (parent, depth) => {
    for (const team of (byParent.get(parent) ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      ordered.push({ ...team, depth });
      walk(team.slug, depth + 1);
    }
  };
  walk('', 0);
  return ordered;
}
