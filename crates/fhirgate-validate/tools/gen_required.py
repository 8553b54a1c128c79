"""Regenerates src/required.rs.

Usage (from crates/fhirgate-validate):
    pip download --no-deps -d /tmp/fr "fhir.resources==6.1.0"   # FHIR 4.0.1 models
    (cd /tmp/fr && unzip -q -o *.whl)
    python3 tools/gen_required.py /tmp/fr ../../schemas/fhir.schema.json src/required.rs
    cargo fmt -p fhirgate-validate

The models carry each element's R4 cardinality (`element_required`, `one_of_many_required`);
classes are matched to the schema's definition names by name and property set, and the
complex required elements are cross-checked against the schema's own `required` lists
(differences are printed to stderr).
"""
import ast, glob, json, os, sys
schema = json.load(open(sys.argv[2]))['definitions']
classes = {}  # class name -> dict(fields=set(aliases), req_prim=[], req_choice={prefix:[aliases]}, req_complex=[])
for fn in sorted(glob.glob(os.path.join(sys.argv[1], 'fhir/resources/*.py'))):
    tree = ast.parse(open(fn).read())
    for node in tree.body:
        if not isinstance(node, ast.ClassDef): continue
        info = dict(fields=set(), req_prim=[], choices={}, req_complex=[])
        for st in node.body:
            if not isinstance(st, ast.AnnAssign) or not isinstance(st.value, ast.Call): continue
            call = st.value
            if getattr(call.func, 'id', None) != 'Field': continue
            kw = {k.arg: k.value for k in call.keywords}
            alias = kw.get('alias')
            if alias is None: continue
            alias = alias.value
            info['fields'].add(alias)
            default = call.args[0] if call.args else None
            if isinstance(default, ast.Constant) and default.value is Ellipsis:
                info['req_complex'].append(alias)
            if 'element_required' in kw and kw['element_required'].value is True:
                info['req_prim'].append(alias)
            if 'one_of_many' in kw:
                p = kw['one_of_many'].value
                req = kw['one_of_many_required'].value
                info['choices'].setdefault(p, [req, []])[1].append(alias)
        if info['fields']:
            classes[node.name] = info
# match classes to schema defs by property set
def props(d):
    return {k for k in d.get('properties', {})}
out_prim = {}; out_choice = {}
unmatched = []
seen = {}
by_props = {}
for name, d in schema.items():
    by_props.setdefault(frozenset(props(d) - {'resourceType'}), []).append(name)
for cname, info in classes.items():
    interesting = info['req_prim'] or any(v[0] for v in info['choices'].values())
    # inherited fields: pydantic class only lists its own fields; compare subset
    cands = [n for n in schema if n.replace('_', '') == cname]
    if not cands:
        cands = [n for n in schema if '_' in n and cname.startswith(n.split('_')[0]) and cname.endswith(n.split('_')[1].rstrip('0123456789')) and {f for f in info['fields'] if not f.startswith('_')} <= props(schema[n])]
    if len(cands) > 1:
        exact = [n for n in cands if {f for f in info['fields'] if not f.startswith('_')} == {p for p in props(schema[n]) if not p.startswith('_')}]
        if not exact and interesting: print('AMBIG', cname, cands, file=sys.stderr)
        cands = exact
    if not cands:
        if interesting: unmatched.append((cname, info['req_prim']))
        continue
    for n in cands:
        sreq = set(schema[n].get('required', [])) - {'resourceType'}
        creq = set(info['req_complex'])
        if sreq != creq: print('REQDIFF', cname, n, sorted(sreq), sorted(creq), file=sys.stderr)
        if n in seen and seen[n] != (sorted(info['req_prim']), info['choices']): print('COLLISION', cname, n, seen[n], file=sys.stderr)
        seen[n] = (sorted(info['req_prim']), info['choices'])
        if info['req_prim']: out_prim[n] = sorted(info['req_prim'])
        ch = {p: sorted(v[1]) for p, v in info['choices'].items() if v[0]}
        if ch: out_choice[n] = ch
print('unmatched', unmatched, file=sys.stderr)
print(len(out_prim), len(out_choice), file=sys.stderr)

# Classes whose schema definition name is ambiguous (numbered duplicates), resolved by hand
# from the R4 definitions: both CapabilityStatement interaction kinds require `code`;
# Claim/ExplanationOfBenefit item.detail.subDetail require `sequence`.
for n, req in [('CapabilityStatement_Interaction', ['code']), ('CapabilityStatement_Interaction1', ['code']),
               ('Claim_SubDetail', ['sequence']), ('ExplanationOfBenefit_SubDetail', ['sequence'])]:
    assert set(req) <= props(schema[n]), n
    out_prim[n] = req
lines = []
for n in sorted(out_prim):
    req = [r for r in out_prim[n] if r not in schema[n].get('required', [])]
    assert all(r in schema[n]['properties'] for r in req), n
    if req:
        lines.append('    ("%s", &[%s]),' % (n, ', '.join('"%s"' % r for r in req)))
clines = []
for n in sorted(out_choice):
    parts = []
    for p, vs in sorted(out_choice[n].items()):
        assert all(v in schema[n]['properties'] for v in vs), n
        parts.append('("%s", &[%s])' % (p, ', '.join('"%s"' % v for v in vs)))
    clines.append('    ("%s", &[%s]),' % (n, ', '.join(parts)))
out = open(sys.argv[3], 'w')
out.write('''//! Required (min cardinality 1) primitive and choice elements of FHIR R4, which the R4 JSON
//! Schema does not list in `required` (a primitive may be sent as `_element` alone, and a
//! choice has one property per type), so the schema alone accepts e.g. an Observation without
//! `status` or a MedicationRequest without `medication[x]`.
//!
//! GENERATED by `tools/gen_required.py` from the R4 (4.0.1) element cardinalities as carried by
//! the `fhir.resources` 6.1.0 models, matched to the schema's definition names; do not edit.

/// Schema definition -> primitive elements that must be present (as `x` or `_x`).
pub const REQUIRED_PRIMITIVES: &[(&str, &[&str])] = &[
%s
];

/// A definition's required choice elements: (name without `[x]`, its JSON properties).
pub type Choices = &'static [(&'static str, &'static [&'static str])];

/// Schema definition -> required choice elements.
#[rustfmt::skip]
pub const REQUIRED_CHOICES: &[(&str, Choices)] = &[
%s
];
''' % ('\n'.join(lines), '\n'.join(clines)))
