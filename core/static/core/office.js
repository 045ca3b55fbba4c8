'use strict';
// The staff office (see office.css): marks numeric columns of change lists so they are right-aligned and never
// wrap, lets long texts wrap at a readable width, and marks a filter that is in use.
{
    // The app list beside the page is closed by default: base_site.html says so before Django's script reads it.

    const NUMBER = /^[-+−]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s?%?$/;

    function markColumns(table) {
        const header = table.tHead && table.tHead.rows[0];
        const body = table.tBodies[0];
        if (!header || !body) {
            return;
        }
        for (let col = 0; col < header.cells.length; col++) {
            let numbers = 0;
            let others = 0;
            for (const row of body.rows) {
                const cell = row.cells[col];
                const text = cell ? cell.textContent.trim() : '';
                if (!text || text === '-' || text === '—') {
                    continue;
                }
                if (NUMBER.test(text) && (text.includes('.') || text.includes(',') || text.length <= 7)) {
                    numbers++;
                } else {
                    others++;
                }
            }
            if (numbers && !others) {
                header.cells[col].classList.add('office-num');
                for (const row of body.rows) {
                    if (row.cells[col]) {
                        row.cells[col].classList.add('office-num');
                    }
                }
            }
        }
        for (const cell of body.querySelectorAll('td, th')) {
            if (!cell.classList.contains('office-num') && cell.textContent.trim().length > 14) {
                cell.classList.add('office-wrap');
            }
        }
    }

    document.addEventListener('DOMContentLoaded', () => {
        document.querySelectorAll('#result_list, table.office-table').forEach(markColumns);
        // Filters are drop-downs: each page opens with them closed, and one open at a time.
        const filters = document.querySelectorAll('#changelist-filter details');
        filters.forEach((details) => {
            details.removeAttribute('open');
            const selected = details.querySelector('li.selected');
            const first = details.querySelector('li');
            if (selected && selected !== first) {
                details.classList.add('active');
            }
            details.addEventListener('toggle', () => {
                if (details.open) {
                    filters.forEach((other) => other !== details && other.removeAttribute('open'));
                }
            });
        });
        document.addEventListener('click', (event) => {
            if (!event.target.closest('#changelist-filter')) {
                filters.forEach((details) => details.removeAttribute('open'));
            }
        });
    });
}
