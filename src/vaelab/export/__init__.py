"""Export a run for the browser: ONNX models checked with onnxruntime, the test set's codes, the static explorer
site of 1-4 runs, onnxruntime-web's files and a small static server (``onnx``, ``preprocess``, ``site``, ``assets``,
``serve``)."""

from vaelab.core.errors import ExportError
from vaelab.export.assets import vendor_files
from vaelab.export.onnx import export_model, export_run
from vaelab.export.preprocess import mnist_style
from vaelab.export.serve import make_server
from vaelab.export.site import build_site, write_site

__all__ = [
    "ExportError",
    "build_site",
    "export_model",
    "export_run",
    "make_server",
    "mnist_style",
    "vendor_files",
    "write_site",
]
