"""Hits to x/u/v images with segment labels, written in MINERvA's flat HDF5 layout.

Three steps, one module each:

- :mod:`~minerva_vertex.images.pixels`: hits to pixels (where each hit lands, what a pixel
  holds, the checks of each hit);
- :mod:`~minerva_vertex.images.writer`: the HDF5 image file and :func:`convert_file`, one
  ROOT hit file to one image file;
- :mod:`~minerva_vertex.images.summaries`: the per-file and per-sample summaries and the
  warnings about hits or vertices outside the image window.

Policies for bad input (each error names the file, the branch and the entry):

==========================================  =============================================
a hit with NaN, infinite or negative energy  error
a hit energy above ``MAX_HIT_ENERGY_MEV``     error
a hit time NaN or infinite (time channel)     error
a strip outside 0-126, a plane not 1 or 2     error
a module not in the geometry                  error (target slots, numbers below -5 or
                                              above ``DETECTOR_LAST_MODULE``)
a view that disagrees with the geometry       error
a hit outside the image window (modules       dropped, counted ``outside_window``
downstream of the window, up to 114)          (warned when most of a file's hits are)
a file with hits but none in the window       error, unless
                                              ``images.allow_no_hits_in_window``
an event without hits (or none drawn)         kept as an empty image, counted
run/subrun/gate/slice that cannot be packed   error
a truth vertex that is not finite             error
==========================================  =============================================

File-level problems (missing, not ROOT, truncated, no tree or branch, wrong branch type,
an empty tree unless ``input.allow_empty_tree``) are errors from :mod:`minerva_vertex.rootio`.
"""

from minerva_vertex.images.pixels import DETECTOR_LAST_MODULE, ENERGY_SCALE_MEV, ImageScatterer, hits_to_images
from minerva_vertex.images.summaries import gather_summaries
from minerva_vertex.images.writer import ImagesConfig, Sample, convert_file

__all__ = [
    "DETECTOR_LAST_MODULE",
    "ENERGY_SCALE_MEV",
    "ImageScatterer",
    "ImagesConfig",
    "Sample",
    "convert_file",
    "gather_summaries",
    "hits_to_images",
]
