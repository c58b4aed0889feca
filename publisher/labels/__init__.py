"""Disc labels: a PDF and a printer raster from a template and plain :class:`LabelContent`.

>>> from publisher.labels import LabelContent, Patient, load_template, render_pdf
"""
from publisher.labels.content import LabelContent, Patient, PdiContent, format_person_name
from publisher.labels.fonts import FontNotFound
from publisher.labels.insert import render_insert_pdf
from publisher.labels.layout import LabelDoesNotFit, layout, shown_patients
from publisher.labels.pdf import render_pdf
from publisher.labels.raster import render_image, render_png
from publisher.labels.template import LabelTemplate, load_template, template_from_dict

__all__ = ["FontNotFound", "LabelContent", "LabelDoesNotFit", "LabelTemplate", "Patient", "PdiContent",
           "format_person_name", "layout", "load_template", "render_image", "render_insert_pdf", "render_pdf",
           "render_png", "shown_patients", "template_from_dict"]
