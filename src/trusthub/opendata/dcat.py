"""DCAT-AP metadata built with rdflib, so that harvesters (ckanext-dcat, data.europa.eu) read it."""

from __future__ import annotations

from collections.abc import Sequence

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, SKOS, XSD

from trusthub.opendata.ckan_schemas import Package
from trusthub.opendata.vocab import EU_FREQUENCY, FREQUENCIES

EU_FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
IANA = "https://www.iana.org/assignments/media-types/"
FORMATS = {
    "csv": ("CSV", "text/csv"),
    "jsonl": ("JSON", "application/x-ndjson"),
    "parquet": ("PARQUET", "application/vnd.apache.parquet"),
}
CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "skos": str(SKOS),
    "owl": str(OWL),
    "xsd": str(XSD),
}
DCAT_VERSION = URIRef(f"{DCAT}version")  # DCAT 3; rdflib's closed namespace predates it
SERIALISATIONS = {"ttl": ("turtle", "text/turtle"), "jsonld": ("json-ld", "application/ld+json")}


def _graph() -> Graph:
    graph = Graph()
    for prefix, namespace in CONTEXT.items():
        graph.bind(prefix, Namespace(namespace))
    return graph


def _dataset(graph: Graph, package: Package) -> URIRef:
    node = URIRef(package.url)
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(package.id)))
    graph.add((node, DCTERMS.title, Literal(package.title, lang="en")))
    graph.add((node, DCTERMS.description, Literal(package.notes, lang="en")))
    graph.add((node, DCAT.landingPage, URIRef(package.url)))
    graph.add((node, DCTERMS.issued, Literal(package.metadata_created)))
    graph.add((node, DCTERMS.modified, Literal(package.metadata_modified)))
    graph.add((node, OWL.versionInfo, Literal(package.version)))
    graph.add((node, DCAT_VERSION, Literal(package.version)))
    for tag in package.tags:
        graph.add((node, DCAT.keyword, Literal(tag.name, lang="en")))
    publisher = URIRef(
        f"{package.url.rsplit('/opendata/', 1)[0]}/organisations/{package.organization.name}"
    )
    graph.add((node, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Organization))
    graph.add((publisher, FOAF.name, Literal(package.organization.title)))
    if package.frequency in FREQUENCIES:
        graph.add(
            (
                node,
                DCTERMS.accrualPeriodicity,
                URIRef(EU_FREQUENCY + FREQUENCIES[package.frequency]),
            )
        )
    if package.temporal_start or package.temporal_end:
        period = BNode()
        graph.add((node, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if package.temporal_start:
            graph.add((period, DCAT.startDate, Literal(package.temporal_start, datatype=XSD.date)))
        if package.temporal_end:
            graph.add((period, DCAT.endDate, Literal(package.temporal_end, datatype=XSD.date)))
    if package.spatial:
        place = BNode()
        graph.add((node, DCTERMS.spatial, place))
        graph.add((place, RDF.type, DCTERMS.Location))
        graph.add((place, SKOS.prefLabel, Literal(package.spatial, lang="en")))
    licence = URIRef(package.license_url)
    graph.add((licence, RDF.type, DCTERMS.LicenseDocument))
    for resource in package.resources:
        for fmt, url in resource.downloads.items():
            dist = URIRef(url)
            graph.add((node, DCAT.distribution, dist))
            graph.add((dist, RDF.type, DCAT.Distribution))
            graph.add((dist, DCTERMS.title, Literal(f"{resource.name} ({fmt})", lang="en")))
            graph.add((dist, DCTERMS.description, Literal(resource.description, lang="en")))
            graph.add((dist, DCAT.accessURL, URIRef(url)))
            graph.add((dist, DCAT.downloadURL, URIRef(url)))
            graph.add((dist, DCTERMS.license, licence))
            graph.add((dist, DCTERMS.identifier, Literal(f"{resource.id}.{fmt}")))
            graph.add((dist, DCTERMS.issued, Literal(resource.created)))
            if fmt in FORMATS:
                file_type, media = FORMATS[fmt]
                graph.add((dist, DCTERMS["format"], EU_FILE_TYPE[file_type]))
                graph.add((dist, DCAT.mediaType, URIRef(IANA + media)))
            if fmt == "csv" and resource.row_count is not None:
                graph.add(
                    (dist, DCAT.byteSize, Literal(resource.size, datatype=XSD.nonNegativeInteger))
                )
    return node


def catalogue_graph(base_url: str, packages: Sequence[Package]) -> Graph:
    """The whole catalogue as one dcat:Catalog."""
    graph = _graph()
    catalogue = URIRef(f"{base_url}/opendata")
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCTERMS.title, Literal("TrustHub open data", lang="en")))
    graph.add(
        (
            catalogue,
            DCTERMS.description,
            Literal("Non-personal data published through TrustHub's publication gate.", lang="en"),
        )
    )
    graph.add((catalogue, FOAF.homepage, URIRef(f"{base_url}/opendata")))
    for package in packages:
        graph.add((catalogue, DCAT.dataset, _dataset(graph, package)))
    return graph


def dataset_graph(package: Package) -> Graph:
    graph = _graph()
    _dataset(graph, package)
    return graph


def serialise(graph: Graph, fmt: str) -> tuple[str, str]:
    """Turtle or JSON-LD text, and its media type."""
    rdflib_format, media_type = SERIALISATIONS[fmt]
    if rdflib_format == "json-ld":
        return graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True), media_type
    return graph.serialize(format=rdflib_format), media_type
