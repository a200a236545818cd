import pypes.components
from pypes.component import TYPES, Component
from pypes.components.registry import Registry

EXPECTED = {
    "Adapter": {"JsonReader", "CsvReader", "TextReader", "HtmlReader", "XmlReader"},
    "Transformer": {"CaseNormalizer", "SetField", "CopyField", "RenameField", "DeleteField",
                    "DateNormalizer"},
    "Filter": {"DropDocument", "Match"},
    "Extractor": {"EmailExtractor", "RegexExtractor", "WordCount"},
    "Operator": {"Split", "Merge", "Collate", "Delay"},
    "Publisher": {"Collect", "JsonLinesWriter", "CsvWriter", "Debug", "Null", "HttpPublisher"},
    "Composite": {"Composite"},
}


def test_every_builtin_is_in_the_palette_under_its_type():
    palette = Registry.discover()
    for kind, names in EXPECTED.items():
        assert {entry["class"] for entry in palette.describe(kind)} >= names
    assert set(pypes.components.__all__) == set().union(*EXPECTED.values())


def test_every_builtin_explains_itself_and_its_params():
    for name in pypes.components.__all__:
        cls = getattr(pypes.components, name)
        assert issubclass(cls, Component) and cls.type in TYPES
        assert cls.__doc__ and cls.__doc__.strip().splitlines()[0].endswith("."), name
        for port, doc in {**cls.inputs, **cls.outputs}.items():
            assert doc, f"{name}.{port} has no description"
        schema = cls.Params.model_json_schema()
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"
