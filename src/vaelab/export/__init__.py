"""Export a run for the browser: ONNX models checked with onnxruntime, the test set's codes, the static explorer
site and a small static server (``onnx``, ``preprocess``, ``site``, ``serve``)."""

from vaelab.core.errors import ExportError
from vaelab.export.onnx import export_run
from vaelab.export.preprocess import mnist_style
from vaelab.export.serve import make_server
from vaelab.export.site import build_site

__all__ = ["ExportError", "build_site", "export_run", "make_server", "mnist_style"]
