"""Seal a signed-off charter: append the audit trail, embed ``seal.json``, certify with pyHanko.

Why an incremental update (and not a rewrite with pypdf): the frozen charter's bytes stay
the first part of the sealed file, byte for byte. Anyone can cut the file at the length
recorded in ``seal.json`` and get the exact PDF the signatories approved, with the SHA-256
they approved; the charter's PDF/A-3b catalogue, XMP identification, output intent and its
``assessment.json`` attachment are untouched. The update adds the audit page(s) (imported
from a WeasyPrint PDF/A-3b rendering), a ``seal.json`` attachment (PDF/A-3 associated file,
relationship Data) that states what was approved, and a PAdES certification signature
(DocMDP level 1: no changes allowed) in an invisible field, so no stamp font is needed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko import keys as pyhanko_keys
from pyhanko.pdf_utils import generic as pdf_generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR, DocumentMetadata
from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import _ObjectImporter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import registry

from assess.signing import SealingFailed, sha256_hex
from assess.signing.audit import AuditTrail, render_pdf
from assess.signing.keys import SealKeys

# pyHanko's PDF object layer, key loading and certificate store have no annotations:
# handle them as Any at this boundary rather than scattering ignores.
generic: Any = pdf_generic
key_loading: Any = pyhanko_keys
certificate_registry: Any = registry
asn1_keys: Any = importlib.import_module("asn1crypto.keys")  # ships without annotations

SEAL_FIELD = "AssessSeal"
SEAL_FILE = "seal.json"
ASSESSMENT_FILE = "assessment.json"
SEAL_FORMAT = 1
# Room for the CMS signature: a 3072-bit RSA signature plus the certificate, with margin.
# A fixed reservation keeps pyHanko from building a dummy signature first to measure it.
SIGNATURE_BYTES = 8192
# With a timestamp token, room for the authority's signature and certificate chain too.
TIMESTAMPED_SIGNATURE_BYTES = 24576


class SealError(SealingFailed):
    """The charter cannot be sealed as given (wrong version, no approvals, unreadable PDF)."""


def seal(
    charter_pdf: bytes,
    audit: AuditTrail,
    keys: SealKeys,
    *,
    audit_pdf: bytes | None = None,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """Return the charter with the audit page(s) appended, certified by the service's key.

    ``audit.document_hash`` must be the SHA-256 of ``charter_pdf`` and every approval must
    be for that hash. The signing time is ``audit.sealed_at``. ``audit_pdf`` is the audit
    trail already rendered by ``audit.render_pdf`` for this trail (rendered here if absent).
    With a ``timestamper`` the seal carries its timestamp token; the result then differs
    from one sealing to the next, and a failing authority raises ``TimestampUnavailable``.
    """
    approved_hash = sha256_hex(charter_pdf)
    _check_trail(approved_hash, audit)
    try:
        writer = _DeterministicWriter(BytesIO(charter_pdf), approved_hash, audit)
        charter: PdfFileReader = writer.prev
        assessment = embedded_file(charter, ASSESSMENT_FILE)
    except (PdfError, ValueError, KeyError) as error:
        raise SealError(f"the charter is not a readable PDF ({error})") from None
    if charter.encrypted:
        raise SealError("the charter is encrypted; seal the unencrypted frozen PDF")
    if charter.embedded_signatures:
        raise SealError("the charter is already signed; seal the frozen, unsigned version")
    _append_pages(writer, audit_pdf or render_pdf(audit, signer=keys.subject))
    statement = seal_statement(audit, charter_pdf, assessment, keys, timestamper is not None)
    _attach(writer, SEAL_FILE, statement, "What was approved and sealed", audit.sealed_at)
    output = BytesIO()
    reserved = SIGNATURE_BYTES if timestamper is None else TIMESTAMPED_SIGNATURE_BYTES
    _signer_for(keys, audit, timestamper).sign_pdf(writer, output=output, bytes_reserved=reserved)
    return output.getvalue()


def seal_statement(
    audit: AuditTrail,
    charter_pdf: bytes,
    assessment: bytes | None,
    keys: SealKeys,
    time_stamped: bool = False,
) -> bytes:
    """Serialise what the seal states: the approved bytes, the assessment, the trail.

    ``time_stamped`` says whether the seal carries a timestamp: the token sits in the part
    of the signature the seal cannot cover, so only this statement tells one put there
    later from one the seal was made with.
    """
    statement: dict[str, Any] = {
        "format": SEAL_FORMAT,
        "issuer": audit.issuer,
        "sealed_by": keys.subject,
        "certificate_sha256": keys.fingerprint,
        "approved": {
            "sha256": sha256_hex(charter_pdf),
            "length": len(charter_pdf),
        },
        "assessment_sha256": sha256_hex(assessment) if assessment is not None else None,
        "time_stamped": time_stamped,
        **audit.to_dict(),
    }
    return json.dumps(statement, sort_keys=True, indent=2, ensure_ascii=False).encode()


def _check_trail(approved_hash: str, audit: AuditTrail) -> None:
    if audit.document_hash != approved_hash:
        raise SealError(
            f"the audit trail is for SHA-256 {audit.document_hash}, "
            f"but the charter given is {approved_hash}"
        )
    if not audit.approvals:
        raise SealError("no signatory approved this version; there is nothing to seal")
    stale = [e.name for e in audit.approvals if e.document_hash != approved_hash]
    if stale:
        raise SealError("approvals for another version: " + ", ".join(stale))


def embedded_file(reader: PdfFileReader, name: str) -> bytes | None:
    """Return the bytes of a document-level attachment by file name, or None."""
    try:
        tree = reader.root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return None
    return _find_in_name_tree(tree, name)


def _find_in_name_tree(tree: Any, name: str) -> bytes | None:
    """Look for ``name`` in a name tree, visiting each of its nodes once.

    A hostile file can name one node as its own kid many times over: read naively, that
    is more nodes to visit than any check has time for.
    """
    pending = [tree]
    seen: set[tuple[int, int]] = set()
    while pending:
        node = pending.pop()
        names = node.get("/Names", [])
        for index in range(0, len(names) - 1, 2):
            if str(names[index]) == name:
                spec = names[index + 1].get_object()
                data: bytes = spec["/EF"].get("/UF", spec["/EF"].get("/F")).get_object().data
                return data
        kids = [kid for kid in node.get("/Kids", []) if _first_visit(kid, seen)]
        pending.extend(kid.get_object() for kid in reversed(kids))  # in order, depth first
    return None


def _first_visit(kid: Any, seen: set[tuple[int, int]]) -> bool:
    """Say whether a name tree's kid is met for the first time, and remember it."""
    if not isinstance(kid, generic.IndirectObject):
        return True  # written inside its parent: met once, with it
    key = (kid.idnum, kid.generation)
    if key in seen:
        return False
    seen.add(key)
    return True


class _DeterministicWriter(IncrementalPdfFileWriter):
    """An incremental writer for reproducible seals that keeps Info and XMP in agreement.

    pyHanko gives the new revision a random file ID and stamps the current time as the
    modification date; here both come from the sign-off (approved hash and seal time).
    It also appends itself to the Info producer but writes only itself into the XMP
    producer; PDF/A requires the two to match, so both say the same after the update.
    """

    def __init__(self, stream: BytesIO, approved_hash: str, audit: AuditTrail) -> None:
        super().__init__(stream, strict=False)
        seed = f"{approved_hash}:{audit.document_id}:{audit.version}:{audit.sealed_at}"
        first = self._document_id[0]
        self._document_id = generic.ArrayObject(
            [first, generic.ByteStringObject(hashlib.sha256(seed.encode()).digest()[:16])]
        )
        self._sealed_at = audit.sealed_at.astimezone(UTC)

    def _update_meta(self) -> None:
        parent: Any = super()
        parent._update_meta()
        fixed = DocumentMetadata(last_modified=self._sealed_at, xmp_unmanaged=True)
        info_ref: Any = self._info
        if info_ref is not None:
            info = info_ref.get_object()
            info["/ModDate"] = generic.pdf_date(self._sealed_at)
            info["/Producer"] = generic.TextStringObject(VENDOR)
            self.mark_update(info_ref)
        metadata = self.root["/Metadata"] if "/Metadata" in self.root else None
        if isinstance(metadata, MetadataStream):
            metadata.update_xmp_with_meta(fixed)
            self.update_container(metadata)


def _append_pages(writer: Any, pdf: bytes) -> None:
    """Copy every page of ``pdf`` to the end of the document being written, and its
    structure tree under the charter's, so that the audit trail is read as part of the
    tagged document.

    One importer copies everything, so that fonts the pages share are copied once and the
    structure elements point at the copied pages. The page tree parent and links are left
    behind: they belong to the source document.
    """
    source: Any = PdfFileReader(BytesIO(pdf), strict=False)
    # pyHanko's public import_object forgets what it copied between calls; its importer
    # keeps the map, which lets the structure elements' page references land on the copies.
    importer = _ObjectImporter(source, writer, reference_map={}, obj_stream=None)
    tags = _StructureTrees(writer.root, source.root)
    pages_ref = writer.root.raw_get("/Pages")
    pages = pages_ref.get_object()
    for index in range(_page_count(source)):
        page_ref = source.find_page_for_modification(index)[0]
        original = page_ref.get_object()
        copy = generic.DictionaryObject(
            {k: v for k, v in original.items() if k not in ("/Parent", "/Annots")}
        )
        copy.container_ref = original.container_ref  # tells the importer which file it reads
        page: Any = importer.import_object(copy)
        # Appended at the root of the page tree: pyHanko's insert_page would first walk
        # (and parse) every page of the charter to find the last one's parent.
        page["/Parent"] = pages_ref
        if tags.merged and "/StructParents" in page:
            page["/StructParents"] = tags.renumber(page["/StructParents"])
        else:
            page.pop("/StructParents", None)
        added = writer.add_object(page)
        importer.reference_map[page_ref.reference] = added
        pages["/Kids"].append(added)
        pages["/Count"] = generic.NumberObject(pages["/Count"] + 1)
    writer.update_container(pages)
    writer.update_container(pages["/Kids"])
    if tags.merged:
        tags.import_into(writer, importer)


class _StructureTrees:
    """The charter's structure tree and the audit trail's, when both documents have one.

    A charter frozen untagged gets untagged audit pages: a tagged page in an untagged
    document would only confuse a reader.
    """

    def __init__(self, charter: Any, audit: Any) -> None:
        self.charter_ref, self.audit_ref = _structure_tree(charter), _structure_tree(audit)
        self.merged = self.charter_ref is not None and self.audit_ref is not None
        if self.merged:
            self.charter, self.audit = self.charter_ref.get_object(), self.audit_ref.get_object()
            # Keys above every one the charter uses; the audit's own keep their order.
            self.offset = max(_numbers(self.charter["/ParentTree"]), default=-1) + 1
            self.renumbered: dict[int, int] = {}

    def renumber(self, key: int) -> Any:
        self.renumbered[key] = self.offset + key
        return generic.NumberObject(self.offset + key)

    def import_into(self, writer: Any, importer: Any) -> None:
        """Hang the audit's top-level elements under the charter's document element and map
        the copied pages' marked content to its elements."""
        charter_document = self.charter["/K"].raw_get(0)
        audit_document = self.audit["/K"].raw_get(0)
        importer.reference_map[audit_document.reference] = charter_document
        importer.reference_map[self.audit_ref.reference] = self.charter_ref
        kids = charter_document.get_object()["/K"]
        imported = importer.import_object(audit_document.get_object()["/K"])
        kids.extend(imported)
        writer.update_container(kids)
        audit_numbers = _numbers(self.audit["/ParentTree"])
        charter_tree = self.charter["/ParentTree"]
        for key, renumbered in self.renumbered.items():
            charter_tree["/Nums"].append(generic.NumberObject(renumbered))
            charter_tree["/Nums"].append(importer.import_object(audit_numbers[key]))
        if "/ParentTreeNextKey" in self.charter:
            self.charter["/ParentTreeNextKey"] = generic.NumberObject(
                max(self.renumbered.values()) + 1
            )
            writer.update_container(self.charter)
        writer.update_container(charter_tree)
        self._index_header_cells(writer, importer, imported)

    def _index_header_cells(self, writer: Any, importer: Any, top: Any) -> None:
        """List the audit trail's header cells in the charter's index of element ids (its
        ID tree), where a reader looks up a data cell's header cells. Both documents name
        their cells after their own object numbers, so the audit trail's are renamed apart."""
        if "/IDTree" not in self.audit:
            return
        audit_names = self.audit["/IDTree"]["/Names"]
        renamed: dict[str, Any] = {}
        entries: list[tuple[str, Any]] = []
        for i in range(0, len(audit_names), 2):
            name = f"audit-{audit_names[i]}"
            renamed[str(audit_names[i])] = generic.TextStringObject(name)
            entries.append((name, importer.import_object(audit_names.raw_get(i + 1))))
        for _, reference in entries:
            reference.get_object()["/ID"] = renamed[str(reference.get_object()["/ID"])]
        for element in (e for reference in top for e in _elements(reference)):
            attributes = element.get("/A")
            if isinstance(attributes, generic.DictionaryObject) and "/Headers" in attributes:
                attributes["/Headers"] = generic.ArrayObject(
                    renamed[str(h)] for h in attributes["/Headers"]
                )
        if "/IDTree" in self.charter:
            tree = self.charter["/IDTree"]
            names = tree["/Names"]
            entries += [(str(names[i]), names.raw_get(i + 1)) for i in range(0, len(names), 2)]
        else:
            tree = generic.DictionaryObject()
            self.charter["/IDTree"] = tree
        tree["/Names"] = generic.ArrayObject(
            item
            for name, reference in sorted(entries, key=lambda e: e[0].encode())
            for item in (generic.TextStringObject(name), reference)
        )
        writer.update_container(self.charter)


def _elements(reference: Any) -> Any:
    """The structure elements under an element and the element itself."""
    element = reference.get_object()
    yield element
    kids = element.get("/K", [])
    for kid in kids if isinstance(kids, list) else [kids]:
        if isinstance(kid, generic.IndirectObject):
            kid_object = kid.get_object()
            if kid_object.get("/Type", "/StructElem") == "/StructElem":
                yield from _elements(kid)


def _structure_tree(catalog: Any) -> Any:
    """Return the reference to a document's structure tree, if it has one in the shape
    WeasyPrint writes (a parent tree with one flat /Nums array); None otherwise."""
    if "/StructTreeRoot" not in catalog:
        return None
    tree = catalog["/StructTreeRoot"]
    if "/ParentTree" not in tree or "/Nums" not in tree["/ParentTree"] or "/K" not in tree:
        return None
    return catalog.raw_get("/StructTreeRoot")


def _numbers(tree: Any) -> dict[int, Any]:
    """The entries of a flat number tree (one /Nums array, as WeasyPrint writes it)."""
    nums = tree["/Nums"]
    return {int(nums[i]): nums.raw_get(i + 1) for i in range(0, len(nums), 2)}


def _page_count(reader: PdfFileReader) -> int:
    count: int = reader.root["/Pages"]["/Count"]
    return count


def _attach(writer: Any, name: str, data: bytes, description: str, when: datetime) -> None:
    """Attach a file as a PDF/A-3 associated file without raising the PDF version.

    pyHanko's ``embed_file`` sets the catalogue's version to 2.0 when a file has an
    AFRelationship; a PDF/A-3 file must stay at 1.x, so the name tree and /AF entries are
    written here.
    """
    stream = EmbeddedFileObject.from_file_data(
        writer,
        data,
        params=EmbeddedFileParams(creation_date=when, modification_date=when),
        mime_type="application/json",
    )
    spec = FileSpec(
        file_spec_string=name,
        file_name=name,
        embedded_data=stream,
        description=description,
    ).as_pdf_object()
    spec["/AFRelationship"] = generic.NameObject("/Data")
    spec_ref = writer.add_object(spec)

    root = writer.root
    if "/Names" not in root:
        root["/Names"] = writer.add_object(generic.DictionaryObject())
        writer.update_root()
    names = root["/Names"]
    if "/EmbeddedFiles" not in names:
        names["/EmbeddedFiles"] = writer.add_object(
            generic.DictionaryObject({"/Names": generic.ArrayObject()})
        )
        writer.update_container(names)
    tree = names["/EmbeddedFiles"]
    if "/Kids" in tree:
        raise SealError("the charter's attachment list is a nested name tree; cannot add to it")
    entries = tree["/Names"]
    pairs = [(str(entries[i]), entries.raw_get(i + 1)) for i in range(0, len(entries) - 1, 2)]
    pairs.append((name, spec_ref))
    pairs.sort(key=lambda pair: pair[0])  # name trees are sorted by key
    tree["/Names"] = generic.ArrayObject(
        item for key, ref in pairs for item in (generic.pdf_string(key), ref)
    )
    writer.update_container(tree)

    if "/AF" in root:
        associated = root["/AF"]
        associated.append(spec_ref)
        writer.update_container(associated)
    else:
        root["/AF"] = generic.ArrayObject([spec_ref])
        writer.update_root()


class _FixedTimeSigner(signers.PdfSigner):
    """A PdfSigner that states a given signing time (the sign-off's), for reproducible seals."""

    def __init__(self, signing_time: datetime, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


class _KeySigner(signers.SimpleSigner):
    """pyHanko's in-memory signer, signing with the already loaded RSA key.

    SimpleSigner parses and checks its private key again on every signature, which for
    a 3072-bit RSA key costs more than all the rest of a seal.
    """

    def __init__(self, key: rsa.RSAPrivateKey, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        if digest_algorithm != "sha256":
            raise SealError(f"the seal signs SHA-256 digests only, not {digest_algorithm}")
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _signer_for(
    keys: SealKeys, audit: AuditTrail, timestamper: TimeStamper | None
) -> signers.PdfSigner:
    certificate = next(key_loading.load_certs_from_pemder_data(keys.certificate_pem()))
    private_key = asn1_keys.PrivateKeyInfo.load(
        keys.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cms_signer = _KeySigner(
        keys.private_key,
        signing_cert=certificate,
        signing_key=private_key,
        cert_registry=certificate_registry.SimpleCertificateStore.from_certs([certificate]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        reason=f"Sealed by {audit.issuer}: the version approved by all signatories",
        location=audit.verify_url,
        name=keys.subject,
    )
    return _FixedTimeSigner(
        audit.sealed_at.astimezone(UTC),
        meta,
        signer=cms_signer,
        timestamper=timestamper,
        # Invisible (zero-size widget, no appearance stream, so no stamp font to embed),
        # attached to the first page: finding the last page would make pyHanko walk the
        # charter's whole page tree.
        new_field_spec=fields.SigFieldSpec(sig_field_name=SEAL_FIELD, on_page=0, box=None),
    )
