"""DICOM network application entities: storage SCP, verification, storage commitment."""
